import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// What the status page is asked for: `GET /` and `GET /status` (HTML), `GET /status.json`
/// (the same facts as JSON, for scripts).
public enum StatusFormat: Sendable {
    case html
    case json
}

/// A plain HTTP endpoint for monitoring: `GET /metrics` answers what `render` returns (the
/// Prometheus text format), for a Prometheus server to scrape; `GET /healthz` answers 200
/// `alive` while the process serves at all (liveness); `GET /readyz` answers 200 or 503 as
/// `readiness` says, with its line (readiness: a service manager or load balancer sends
/// clients only to a ready coordinator). With `status`, `GET /` and `GET /status` answer the
/// HTML page it renders and `GET /status.json` its JSON (rendered on a task of its own: it
/// may wait for the coordinator, never on the event loop). Anything else is 404. It serves
/// until `body` returns. Bind it to loopback, or to an address only the monitoring network
/// reaches: it carries counts and the federation's status (silo names, figures), never silo
/// data, but has no authentication.
/// - Throws: `TransportError.bind` when `host:port` cannot be bound, with the cause.
public func withMetricsServer<Result: Sendable>(
    host: String, port: Int, render: @escaping @Sendable () -> [UInt8],
    readiness: @escaping @Sendable () -> Readiness = { Readiness(isReady: true, reason: "ready") },
    status: (@Sendable (StatusFormat) async -> [UInt8])? = nil,
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
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(render: render, readiness: readiness, status: status))
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
    private let status: (@Sendable (StatusFormat) async -> [UInt8])?
    private var head: HTTPRequestHead?

    init(
        render: @escaping @Sendable () -> [UInt8], readiness: @escaping @Sendable () -> Readiness,
        status: (@Sendable (StatusFormat) async -> [UInt8])?
    ) {
        self.render = render
        self.readiness = readiness
        self.status = status
    }

    /// The status page's answers: no script may run and nothing may be fetched (its style is
    /// inline), nor may it be framed; never cached, as it changes at each round.
    private static let pageHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
        ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"),
    ]

    /// The status page's format asked for by `request`, if it asks for it and there is one.
    private func statusFormat(_ request: HTTPRequestHead) -> StatusFormat? {
        guard status != nil, request.method == .GET else { return nil }
        switch String(request.uri.prefix { $0 != "?" }) {
        case "/", "/status": return .html
        case "/status.json": return .json
        default: return nil
        }
    }

    /// The status, content type and body for `request` (anything but the status page).
    private func answer(_ request: HTTPRequestHead) -> (status: HTTPResponseStatus, type: String, body: [UInt8]) {
        let plain = "text/plain; charset=utf-8"
        let page = status == nil ? "" : ", the status page at / and /status, its JSON at /status.json"
        let notFound = Array("not found: the metrics are at /metrics, liveness at /healthz, readiness at /readyz\(page)\n".utf8)
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
            head = nil
            if let format = statusFormat(request), let page = self.status {
                // Rendered off the event loop; answered on it once ready.
                let promise = context.eventLoop.makePromise(of: [UInt8].self)
                promise.completeWithTask { await page(format) }
                promise.futureResult.assumeIsolated().whenSuccess { bytes in
                    let type = format == .html ? "text/html; charset=utf-8" : "application/json; charset=utf-8"
                    self.respond(context, version: request.version, status: .ok, type: type, body: bytes, headers: Self.pageHeaders)
                }
                return
            }
            let answered = answer(request)
            respond(context, version: request.version, status: answered.status, type: answered.type, body: answered.body)
        }
    }

    /// Writes one whole answer and closes the connection once it is sent.
    private func respond(
        _ context: ChannelHandlerContext, version: HTTPVersion, status: HTTPResponseStatus, type: String, body bytes: [UInt8],
        headers extra: [(String, String)] = []
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: "\(bytes.count)")
        headers.add(name: "Connection", value: "close")
        for (name, value) in extra { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
