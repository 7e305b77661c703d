import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A plain HTTP endpoint answering `GET /metrics` with what `render` returns (the
/// Prometheus text format), for a Prometheus server to scrape. Anything else is 404. It
/// serves until `body` returns. Bind it to loopback, or to an address only the monitoring
/// network reaches: it carries counts, never silo data, but has no authentication.
public func withMetricsServer<Result: Sendable>(
    host: String, port: Int, render: @escaping @Sendable () -> [UInt8], _ body: (_ port: Int) async throws -> Result
) async throws -> Result {
    let address = try ServerAddress(host: host, port: port)
    let channel: any Channel
    do {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(render: render))
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
    private var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> [UInt8]) { self.render = render }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let request = head else { return }
            let found = request.method == .GET && request.uri.split(separator: "?").first == "/metrics"
            let bytes = found ? render() : Array("not found: the metrics are at /metrics\n".utf8)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: "\(bytes.count)")
            headers.add(name: "Connection", value: "close")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            head = nil
        }
    }
}
