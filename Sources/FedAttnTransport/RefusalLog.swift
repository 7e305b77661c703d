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
    /// Each peer's lines per window: every refusal is counted in the metric, but a peer refused
    /// in a loop writes at most 20 lines every 10 seconds.
    let budget = LogBudget()

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

    private func record(_ error: any Error, _ context: ServerContext) {
        let status = (error as? RPCError).map { "\($0.code): \($0.message)" } ?? "\(error)"
        let code = (error as? RPCError).map { "\($0.code)" } ?? "unknown"
        Counter(label: "fedattn_refusals_total", dimensions: [("code", code), ("method", context.descriptor.method)]).increment()
        let certificate = (context.transportSpecific as? HTTP2ServerTransport.Posix.Context)?.peerCertificate
        // A name that is not a silo name is quoted and escaped: it cannot write a line of its own.
        let who =
            certificate.flatMap(commonName(of:)).map { name in
                (SiloName.problem(with: name) == nil ? "'\(name)'" : SiloName.quoted(name)) + " (\(context.remotePeer))"
            } ?? context.remotePeer
        guard let held = budget.allow(context.remotePeer) else { return }
        let heldBack = held > 0 ? " (\(held) more refusals from \(context.remotePeer) held back from the log)" : ""
        logger.warning("refused \(context.descriptor.method) from \(who): \(status)\(heldBack)")
    }
}
