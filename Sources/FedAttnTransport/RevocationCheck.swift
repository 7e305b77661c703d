import FedAttnFederation
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import SwiftASN1
import X509

/// Refuses, on the coordinator, a client whose certificate is revoked (its serial is in the
/// revocation list, `Membership`) as soon as its TLS handshake completes: the connection is
/// closed before a byte of gRPC is read from it, and one line names the peer, the silo and
/// the serial. (BoringSSL's own verification has passed by then: the chain is the
/// federation's; this adds what it cannot know.) Sits right after the TLS handler and
/// removes itself from a connection it admits.
final class RevocationCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let membership: Membership
    private let logger: Logger
    /// Set once the connection is refused: nothing read after that goes further.
    private var refused = false

    init(membership: Membership, logger: Logger) {
        self.membership = membership
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case TLSUserEvent.handshakeCompleted = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
        if let leaf = tls?.peerCertificate, let why = refusal(of: leaf) {
            refused = true
            logger.warning("refused connection from \(ConnectionRegistry.peer(of: context.remoteAddress)): \(why)")
            context.close(promise: nil)
            return
        }
        // The event goes on before this leaves: a removed handler passes nothing further.
        context.fireUserInboundEventTriggered(event)
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }

    /// Why the client presenting `leaf` is refused; nil unless its serial is revoked.
    private func refusal(of leaf: NIOSSLCertificate) -> MembershipRefusal? {
        let name = (try? Certificate(derEncoded: try leaf.toDERBytes())).flatMap { commonName(of: $0) }
        return membership.revocation(of: CertificateSerial(bytes: leaf.serialNumber), presentedBy: name)
    }

    /// Installs the check after `channel`'s TLS handler, if it has one and `membership`
    /// has a revocation list.
    static func install(on channel: any Channel, membership: Membership?, logger: Logger) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            guard let membership, membership.revokedFile != nil else { return }
            let pipeline = channel.pipeline.syncOperations
            guard let tls = try? pipeline.handler(type: NIOSSLServerHandler.self) else { return }
            try pipeline.addHandler(RevocationCheck(membership: membership, logger: logger), position: .after(tls))
        }
    }
}
