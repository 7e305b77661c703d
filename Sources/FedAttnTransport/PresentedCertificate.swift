import NIOCore
import NIOPosix
import NIOSSL
import SwiftASN1
import X509

/// The certificate the server at `host`:`port` presents to a new connection (the first of its
/// chain), as `identity` sees it when it connects with mutual TLS: a handshake, and no call.
/// The chain is read, not verified. For tests of a renewed certificate.
/// - Throws: when the connection or the handshake fails before the server presents one.
package func presentedCertificate(host: String, port: Int, identity: FederationIdentity) async throws -> IssuedCertificate {
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(identity.certificatePEM.utf8)).map {
        NIOSSLCertificateSource.certificate($0)
    }
    let key = try NIOSSLPrivateKey(bytes: Array(identity.privateKeyPEM.utf8), format: .pem)
    configuration.privateKey = NIOSSLPrivateKeySource.privateKey(key)
    configuration.applicationProtocols = ["h2"]
    let context = try NIOSSLContext(configuration: configuration)
    let group = MultiThreadedEventLoopGroup.singleton
    // The leaf's DER, from the verification callback: what the server presented.
    let presented = group.any().makePromise(of: [UInt8].self)
    let channel: any Channel
    do {
        channel = try await ClientBootstrap(group: group).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let tls = try NIOSSLClientHandler(
                    context: context, serverHostname: nil,
                    customVerificationCallback: { (chain: [NIOSSLCertificate], verdict: EventLoopPromise<NIOSSLVerificationResult>) in
                        if let leaf = chain.first, let der = try? leaf.toDERBytes() {
                            presented.succeed(der)
                        } else {
                            presented.fail(ChannelError.inappropriateOperationForState)
                        }
                        verdict.succeed(.certificateVerified)
                    })
                try channel.pipeline.syncOperations.addHandler(tls)
            }
        }.connect(host: host, port: port).get()
    } catch {
        presented.fail(error)
        throw error
    }
    // A handshake that ends before the server's certificate arrives fails the wait.
    channel.closeFuture.whenComplete { _ in presented.fail(ChannelError.ioOnClosedChannel) }
    defer { channel.close(promise: nil) }
    let der = try await presented.futureResult.get()
    let certificate = try Certificate(derEncoded: der)
    return try IssuedCertificate(pem: try certificate.serializeAsPEM().pemString, file: "the certificate \(host):\(port) presents")
}
