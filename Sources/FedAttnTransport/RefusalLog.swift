import CoreMetrics
import FedAttnFederation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Metrics

/// Writes one line for every call the coordinator refuses, naming the method, the peer, the
/// status and why, so that an operator sees hostile or broken clients without the clients'
/// help. (A failed TLS handshake never reaches gRPC; NIO closes that connection.)
struct RefusalLog: ServerInterceptor {
    let logger: Logger
    /// Each silo's (or, without a name, each host's) lines per window: every refusal is counted
    /// in the metric, but a client refused in a loop, on one connection or many, writes at most
    /// 20 lines every 10 seconds.
    let budget: LogBudget

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        do {
            let response = try await next(request, context)
            if case .failure(let error) = response.accepted { record(error, context) }
            return response
        } catch {
            record(error, context)
            throw error
        }
    }

    /// A peer address without its port: `ipv4:10.0.0.7:51234` → `ipv4:10.0.0.7`.
    static func host(of peer: String) -> String {
        guard let colon = peer.lastIndex(of: ":"), peer[peer.index(after: colon)...].allSatisfy(\.isNumber) else { return peer }
        return String(peer[..<colon])
    }

    private func record(_ error: any Error, _ context: ServerContext) {
        // The message may quote what the client sent (a model version): escaped, one line.
        let status = printableLogText((error as? RPCError).map { "\($0.code): \($0.message)" } ?? "\(error)")
        let code = (error as? RPCError).map { "\($0.code)" } ?? "unknown"
        Counter(label: "fedattn_refusals_total", dimensions: [("code", code), ("method", context.descriptor.method)]).increment()
        let certificate = (context.transportSpecific as? HTTP2ServerTransport.Posix.Context)?.peerCertificate
        // A name that is not a silo name is quoted and escaped: it cannot write a line of its own.
        let name = certificate.flatMap(commonName(of:))
        let who =
            name.map { (SiloName.problem(with: $0) == nil ? "'\($0)'" : SiloName.quoted($0)) + " (\(context.remotePeer))" } ?? context.remotePeer
        // One budget per silo (whatever connection it calls on), else per host (whatever port).
        let source = name.flatMap { SiloName.problem(with: $0) == nil ? "silo \($0)" : nil } ?? "host \(Self.host(of: context.remotePeer))"
        guard let held = budget.allow(source) else { return }
        let heldBack = held > 0 ? " (\(held) more refusals from this \(source) held back from the log)" : ""
        logger.warning("refused \(context.descriptor.method) from \(who): \(status)\(heldBack)")
    }
}
