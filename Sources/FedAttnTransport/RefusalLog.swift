import CoreMetrics
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Metrics

/// Writes one line for every call the coordinator refuses, naming the method, the peer, the
/// status and why, so that an operator sees hostile or broken clients without the clients'
/// help. (A failed TLS handshake never reaches gRPC; NIO closes that connection.)
struct RefusalLog: ServerInterceptor {
    let logger: Logger

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
        let who = certificate.flatMap(commonName(of:)).map { "'\($0)' (\(context.remotePeer))" } ?? context.remotePeer
        logger.warning("refused \(context.descriptor.method) from \(who): \(status)")
    }
}
