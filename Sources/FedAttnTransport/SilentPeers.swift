import Logging
import NIOCore

/// How the coordinator tells a live connection from a dead or frozen one.
///
/// The server pings a connection `time` after the last bytes it read, and a live peer's
/// HTTP/2 stack answers within milliseconds, training or not. gRPC's own answer to an
/// unanswered ping is a graceful shutdown that waits for one more ping answer, which a
/// stopped process (SIGSTOP, a frozen VM: its kernel still acknowledges TCP) never sends, so
/// the connection stayed "connected", and its silo selected, for as long as the process
/// slept (grpc-node #3022 and NVFlare #5220 report the same). So a connection from which
/// nothing at all has been read for `silentLimit` (`time` + `timeout`) is closed outright,
/// whatever the peer's state or the stage of its connection (a TCP connection that never
/// starts its TLS handshake included); its silo leaves the federation as on any close.
public struct ServerKeepalive: Sendable, Equatable {
    /// Quiet time after which the server pings.
    public var time: Duration
    /// How long a ping may go unanswered.
    public var timeout: Duration

    public init(time: Duration, timeout: Duration) {
        self.time = time
        self.timeout = timeout
    }

    /// Pings after 30 s of quiet; a connection silent for 50 s is gone.
    public static let standard = ServerKeepalive(time: .seconds(30), timeout: .seconds(20))

    /// The longest a connection may send nothing before it is closed.
    public var silentLimit: Duration { time + timeout }

    /// Puts the watch at the front of `channel`'s pipeline (before TLS: any bytes count).
    func watch(_ channel: any Channel, logger: Logger) -> EventLoopFuture<Void> {
        let limit = silentLimit
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandlers(
                [IdleStateHandler(readTimeout: TimeAmount(limit)), SilentPeerCloser(limit: limit, logger: logger)],
                position: .first)
        }
    }
}

/// Closes a connection when `IdleStateHandler` says nothing was read for the limit.
final class SilentPeerCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let limit: Duration
    let logger: Logger

    init(limit: Duration, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        let peer = context.channel.remoteAddress.map { "\($0)" } ?? "a peer"
        logger.warning("connection from \(peer) sent nothing for \(limit) (its process stopped or its network is gone): closed")
        context.close(promise: nil)
    }
}
