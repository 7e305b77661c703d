public import FedAttnFederation
public import FedAttnTransport
import Foundation

extension StatusPage {
    /// What `withMetricsServer(status:)` answers for a served coordinator: its status, built
    /// by `source` at each request (outside the coordinator's actor but for a copy of a few
    /// values), as the page or as JSON.
    public static func serving(_ source: CoordinatorStatusSource) -> @Sendable (StatusFormat) async -> [UInt8] {
        { format in
            let status = await source.status()
            switch format {
            case .html: return Array(StatusPage.html(status).utf8)
            case .json: return Array(StatusPage.json(status))
            }
        }
    }
}
