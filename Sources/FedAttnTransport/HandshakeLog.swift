import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// Logs, on the coordinator, each connection whose TLS handshake failed, classified
/// (`ConnectionFailure`) with the peer's address: such a connection never reaches gRPC, so
/// without this the operator would see nothing at all. Sits right after the TLS handler.
final class HandshakeLog: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let logger: Logger
    private var logged = false

    init(logger: Logger) { self.logger = logger }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !logged, let failure = ConnectionFailure.classify(error, side: .coordinator) {
            logged = true
            logger.warning("refused connection from \(ConnectionRegistry.peer(of: context.remoteAddress)): \(failure)")
        }
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A completed handshake needs no watching any more. The event goes on first: a handler
        // that has left the pipeline passes nothing further.
        context.fireUserInboundEventTriggered(event)
        if case TLSUserEvent.handshakeCompleted = event { context.pipeline.syncOperations.removeHandler(self, promise: nil) }
    }

    /// Installs the log after `channel`'s TLS handler, if it has one.
    static func install(on channel: any Channel, logger: Logger) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            guard let tls = try? pipeline.handler(type: NIOSSLServerHandler.self) else { return }
            try pipeline.addHandler(HandshakeLog(logger: logger), position: .after(tls))
        }
    }
}
