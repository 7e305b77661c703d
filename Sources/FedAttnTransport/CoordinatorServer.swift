public import FedAttnFederation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore

/// Serves a coordinator over gRPC until `body` returns, then shuts the server down.
/// `body` receives the port actually bound (so port 0 works); `log` gets a line for each
/// refused call.
public func withCoordinatorServer<Result: Sendable>(
    _ coordinator: Coordinator, host: String, port: Int, security: TransportSecurity, log: @escaping @Sendable (String) -> Void = { _ in },
    _ body: @Sendable (_ port: Int) async throws -> Result
) async throws -> Result {
    try security.check(host: host)
    let connections = ConnectionRegistry()
    let transport = HTTP2ServerTransport.Posix(
        address: .ipv4(host: host, port: port), transportSecurity: security.server,
        config: .defaults {
            $0.rpc.maxRequestPayloadSize = 4 << 20
            // Clients poll at least every second; a connection silent for 2 minutes is gone.
            $0.connection.maxIdleTime = .seconds(120)
            // One client needs a handful of streams; hundreds would only be an attack.
            $0.http2.maxConcurrentStreams = 16
            $0.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
                ConnectionBuffers.bound(channel).flatMap { connections.track(channel) }
            }
        })
    let server = GRPCServer(
        transport: transport, services: [CoordinatorService(coordinator: coordinator, security: security, connections: connections)],
        interceptors: [RefusalLog(log: log)])
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        guard let address = try await transport.listeningAddress.ipv4 else {
            server.beginGracefulShutdown()
            throw TransportError.certificate("the server did not bind an IPv4 address")
        }
        do {
            let result = try await body(address.port)
            server.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        } catch {
            server.beginGracefulShutdown()
            group.cancelAll()
            throw error
        }
    }
}
