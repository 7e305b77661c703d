import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A plain HTTP endpoint for monitoring: `GET /metrics` answers what `render` returns (the
/// Prometheus text format), for a Prometheus server to scrape; `GET /healthz` answers 200
/// `alive` while the process serves at all (liveness); `GET /readyz` answers 200 or 503 as
/// `readiness` says, with its line (readiness: a service manager or load balancer sends
/// clients only to a ready coordinator). Anything else is 404. It serves until `body`
/// returns. Bind it to loopback, or to an address only the monitoring network reaches: it
/// carries counts, never silo data, but has no authentication.
/// - Throws: `TransportError.bind` when `host:port` cannot be bound, with the cause.
public func withMetricsServer<Result: Sendable>(
    host: String, port: Int, render: @escaping @Sendable () -> [UInt8],
    readiness: @escaping @Sendable () -> Readiness = { Readiness(isReady: true, reason: "ready") },
    _ body: (_ port: Int) async throws -> Result
) async throws -> Result {
    let address = try ServerAddress(host: host, port: port)
    let channel: any Channel
    do {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(render: render, readiness: readiness))
                }
            }
            .bind(host: host == "localhost" ? "127.0.0.1" : host, port: port).get()
    } catch {
        throw TransportError.bind(address: "metrics " + address.display, cause: ServerAddress.explain(error, port: port))
    }
    do {
        let result = try await body(channel.localAddress?.port ?? port)
        try? await channel.close()
        return result
    } catch {
        try? await channel.close()
        throw error
    }
}

private final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: @Sendable () -> [UInt8]
    private let readiness: @Sendable () -> Readiness
    private var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> [UInt8], readiness: @escaping @Sendable () -> Readiness) {
        self.render = render
        self.readiness = readiness
    }

    /// The status, content type and body for `request`.
    private func answer(_ request: HTTPRequestHead) -> (status: HTTPResponseStatus, type: String, body: [UInt8]) {
        let plain = "text/plain; charset=utf-8"
        let notFound = Array("not found: the metrics are at /metrics, liveness at /healthz, readiness at /readyz\n".utf8)
        guard request.method == .GET else { return (.notFound, plain, notFound) }
        switch String(request.uri.prefix { $0 != "?" }) {
        case "/metrics": return (.ok, "text/plain; version=0.0.4; charset=utf-8", render())
        case "/healthz": return (.ok, plain, Array("alive\n".utf8))
        case "/readyz":
            let now = readiness()
            return (now.isReady ? .ok : .serviceUnavailable, plain, Array((now.reason + "\n").utf8))
        default: return (.notFound, plain, notFound)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let request = head else { return }
            let (status, type, bytes) = answer(request)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: "\(bytes.count)")
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            head = nil
        }
    }
}
