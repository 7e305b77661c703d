public import FedAttnFederation
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
import NIOCore

/// Serves a coordinator over gRPC until `body` returns, then shuts the server down.
/// `body` receives the port actually bound (so port 0 works); `logger` gets a warning for
/// each refused call and each failed TLS handshake; `keepalive` says when a silent connection is
/// gone, `callRate` how many control calls a connection may make, `refusalLogBudget` how many
/// refusal lines a silo (or host) may write. `membership` says which
/// silos are admitted and which certificates are revoked (refused at the TLS handshake and
/// at every call); nil admits every silo whose certificate the federation CA signed. `identityFiles`:
/// the files `security`'s identity was read from, followed as they are renewed: each new
/// connection is presented the certificate they hold then, once it checks (connections open
/// keep theirs; no call is interrupted, no round lost); nil serves `security` as it is.
/// `health`: what the gRPC health service (`grpc.health.v1.Health`, `HealthService`) on the
/// same port answers for the server and the federation service; nil: SERVING while the server
/// runs. The server ends it as it stops (NOT_SERVING, and every Watch call ends). `host` is
/// an IPv4 or IPv6 address, or localhost. A port that cannot be bound is
/// `TransportError.bind`, with the cause and what to change.
public func withCoordinatorServer<Result: Sendable>(
    _ coordinator: Coordinator, host: String, port: Int, security: TransportSecurity, identityFiles: IdentityFiles? = nil,
    logger: Logger = Logger(label: "fedattn.transport", factory: { _ in SwiftLogNoOpLogHandler() }), keepalive: ServerKeepalive = .standard,
    callRate: CallRateLimit = CallRateLimit(), refusalLogBudget: LogBudget = LogBudget(), membership: Membership? = nil,
    health: HealthStatus? = nil, _ body: @Sendable (_ port: Int) async throws -> Result
) async throws -> Result {
    try security.check(host: host)
    let address = try ServerAddress(host: host, port: port)
    let connections = ConnectionRegistry { names, peer in
        Task { for name in names { await coordinator.leave(client: name, connection: peer) } }
    }
    let transport = HTTP2ServerTransport.Posix(
        address: address.grpc, transportSecurity: security.server(reloading: identityFiles),
        config: .defaults {
            // Above the protocol's message limit, so that an oversized message reaches the
            // service and is refused with RESOURCE_EXHAUSTED naming the client; one over this
            // is not buffered at all (its stream is reset).
            $0.rpc.maxRequestPayloadSize = CoordinatorService.transportMessageBytes
            // A client training for a long round makes no call; it stays connected (and so
            // selected) while it answers pings. One silent past the limit is gone (`ServerKeepalive`).
            $0.connection.maxIdleTime = .seconds(6 * 60 * 60)
            $0.connection.keepalive.time = keepalive.time
            $0.connection.keepalive.timeout = keepalive.timeout
            // One client needs a handful of streams; hundreds would only be an attack.
            $0.http2.maxConcurrentStreams = 16
            $0.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
                // The revocation check right after TLS, the handshake log before it (it leaves
                // once the handshake completes, so a refusal after that is logged once).
                ConnectionBuffers.bound(channel).flatMap { RevocationCheck.install(on: channel, membership: membership, logger: logger) }
                    .flatMap { HandshakeLog.install(on: channel, logger: logger) }.flatMap { connections.track(channel) }
                    .flatMap { keepalive.watch(channel, logger: logger) }
            }
        })
    let health = health ?? HealthStatus(.serving)
    let server = GRPCServer(
        transport: transport,
        services: [
            CoordinatorService(coordinator: coordinator, security: security, connections: connections, membership: membership),
            HealthService(status: health),
        ],
        interceptors: [RefusalLog(logger: logger, budget: refusalLogBudget), callRate.closing { connections.close($0, grace: .seconds(1)) }])
    // Not a child task: the server is stopped by a graceful shutdown, never by cancelling the
    // task that serves it, even when the caller is cancelled (a process asked to stop). NIO
    // traps on a stream accepted but not yet served when its serving task is cancelled
    // ("Deinited NIOAsyncWriter without calling finish()", apple/swift-nio#3481; seen here
    // once in four stops of a busy coordinator).
    let serving = Task { try await server.serve() }
    let bound: Int
    do {
        let listening = try await transport.listeningAddress
        guard let port = listening.ipv4?.port ?? listening.ipv6?.port else {
            throw TransportError.bind(address: address.display, cause: "bound to \(listening), not an IP address")
        }
        bound = port
    } catch {
        // listeningAddress only says the server stopped; serve() has the cause.
        health.end()
        server.beginGracefulShutdown()
        var cause: any Error = error
        if case .failure(let serveError) = await serving.result { cause = serveError }
        throw TransportError.bind(address: address.display, cause: ServerAddress.explain(cause, port: port))
    }
    do {
        let result = try await body(bound)
        // Watch calls end first (a graceful shutdown waits for every call under way).
        health.end()
        server.beginGracefulShutdown()
        try await serving.value
        return result
    } catch {
        // Watch calls end, then the server closes its listener and its connections as their
        // calls end (`serve` first makes long polls answer: `Coordinator.stopping`). A call
        // still open after `stopGrace` is cancelled with the server.
        health.end()
        server.beginGracefulShutdown()
        await Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { _ = await serving.result }
                group.addTask { try? await Task.sleep(for: stopGrace) }
                await group.next()
                group.cancelAll()
            }
        }.value
        serving.cancel()
        _ = await serving.result
        throw error
    }
}

/// How long a server asked to stop waits for its calls under way before it cancels them.
let stopGrace: Duration = .seconds(5)

/// Whether `host` is an address a coordinator can listen on: an IPv4 or IPv6 address, or
/// localhost (what `serve --host` takes; anything else is `TransportError.badHost`).
public func isListeningAddress(_ host: String) -> Bool {
    (try? ServerAddress(host: host, port: 0)) != nil
}

/// A listening address as the operator gave it, checked before the server starts.
struct ServerAddress {
    let grpc: GRPCNIOTransportCore.SocketAddress
    let display: String

    init(host: String, port: Int) throws(TransportError) {
        guard (0...65_535).contains(port) else { throw .bind(address: "\(host):\(port)", cause: "port \(port) is not in 0...65535") }
        if host == "localhost" {
            grpc = .ipv4(host: "127.0.0.1", port: port)
            display = "127.0.0.1:\(port)"
        } else if host.contains(":") {
            guard (try? NIOCore.SocketAddress(ipAddress: host, port: port)) != nil else { throw .badHost(host) }
            grpc = .ipv6(host: host, port: port)
            display = "[\(host)]:\(port)"
        } else {
            guard (try? NIOCore.SocketAddress(ipAddress: host, port: port)) != nil else { throw .badHost(host) }
            grpc = .ipv4(host: host, port: port)
            display = "\(host):\(port)"
        }
    }

    /// Why binding failed, from the socket error under gRPC's wrapping, with what to change.
    static func explain(_ error: any Error, port: Int) -> String {
        let chain = errorChain(error)
        if let io = chain.lazy.compactMap({ $0 as? IOError }).first {
            switch io.errnoCode {
            case EADDRINUSE: return "address already in use: another process listens on port \(port); stop it or pick another --port"
            case EACCES: return "permission denied: ports below 1024 need root (or CAP_NET_BIND_SERVICE); pick a port of 1024 or more"
            case EADDRNOTAVAIL: return "no network interface of this machine has that address; use one of its addresses, or 0.0.0.0 / ::"
            default: return "\(io)"
            }
        }
        let innermost = chain.last ?? error
        return (innermost as? RuntimeError)?.message ?? (innermost as? RPCError)?.message ?? "\(innermost)"
    }
}
