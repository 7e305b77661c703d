public import FedAttnFederation
public import Foundation
import NIOSSL
import Synchronization
import X509

/// A party's certificate and key as files that may be renewed while it runs (`fedattn-coordinator
/// renew`, or `sign --renew`): read again whenever their bytes change, at the next TLS handshake
/// and whenever `identity`, `notValidAfter` or `serial` is asked (`serve` asks each minute and at
/// each metrics scrape). New connections are then presented the renewed certificate, without a
/// restart; connections already open keep the one they began with, and no call is interrupted.
///
/// A renewed pair is checked as at start before it is used: the key is the certificate's, the
/// federation CA signed it, it is in date, and for a server it is meant for one and names the
/// address served. A pair that does not check (a key not yet replaced, a certificate of another
/// CA, a half-written file) is reported once, naming the file, and the identity read before stays
/// in use until the files are mended. The CA file is read once, at start: the trust it gives
/// cannot change under the connections that rely on it (a new CA needs a restart).
public final class IdentityFiles: Sendable {
    public let certificateFile: String
    public let keyFile: String
    public let caFile: String
    /// The address a server listens on, that a renewed certificate must still name (see
    /// `FederationIdentity.checkServerUse`); nil for a client.
    public let servedHost: String?
    private let report: @Sendable (Change) -> Void

    /// What happened when the files changed.
    public enum Change: Sendable, CustomStringConvertible {
        /// A renewed certificate is in use from the next connection; the line names it, its
        /// serial and its expiry.
        case renewed(String)
        /// The files changed but do not check; the line says why, and which certificate stays
        /// in use.
        case refused(String)

        public var description: String {
            switch self {
            case .renewed(let line), .refused(let line): line
            }
        }
    }

    /// One identity as read and checked, with what a handshake takes from it.
    private struct Loaded: Sendable {
        let identity: FederationIdentity
        let notValidAfter: Date
        let serial: CertificateSerial
        let handshake: NIOSSLContextConfigurationOverride
    }

    private struct State: Sendable {
        /// The bytes last read from each file (nil: unreadable), so that each version of the
        /// files is checked, and a problem with it reported, once.
        var certificateBytes: Data?
        var keyBytes: Data?
        var loaded: Loaded
    }
    private let state: Mutex<State>

    /// Reads and checks the files (as `FederationIdentity(certificateFile:keyFile:caFile:)`
    /// does; with `servedHost`, also `checkServerUse(certificateFile:host:)`). `report` hears
    /// each later change of the files: a renewal taken, or refused.
    /// - Throws: `TransportError` naming the file that cannot be read or does not check.
    public init(
        certificateFile: String, keyFile: String, caFile: String, servedHost: String? = nil,
        report: @escaping @Sendable (Change) -> Void = { _ in }
    ) throws(TransportError) {
        let certificateBytes = FileManager.default.contents(atPath: certificateFile)
        let keyBytes = FileManager.default.contents(atPath: keyFile)
        let identity = try FederationIdentity(
            certificate: certificateBytes, key: keyBytes, ca: FileManager.default.contents(atPath: caFile), certificateFile: certificateFile,
            keyFile: keyFile, caFile: caFile)
        if let servedHost { try identity.checkServerUse(certificateFile: certificateFile, host: servedHost) }
        let loaded = try Self.load(identity, certificateFile: certificateFile)
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.caFile = caFile
        self.servedHost = servedHost
        self.report = report
        state = Mutex(State(certificateBytes: certificateBytes, keyBytes: keyBytes, loaded: loaded))
    }

    /// The identity in use now (the files read again first if they changed).
    public var identity: FederationIdentity { current().identity }
    /// When the certificate in use expires.
    public var notValidAfter: Date { current().notValidAfter }
    /// The serial of the certificate in use.
    public var serial: CertificateSerial { current().serial }
    /// Mutual TLS with the identity in use; pass these files beside it (`withCoordinatorServer`,
    /// `ClientSession`) for each new connection to take a renewal.
    public var security: TransportSecurity { .mutualTLS(identity) }

    /// What serve says of its certificate as it starts.
    public var summary: String {
        let loaded = current()
        return "certificate \(certificateFile): serial \(loaded.serial), valid until \(loaded.notValidAfter.formatted(.iso8601)); "
            + "renewed in place (with \(keyFile)), it is presented from the next connection on, without a restart"
    }

    /// The certificate and key a TLS handshake presents now.
    var handshakeOverride: NIOSSLContextConfigurationOverride { current().handshake }

    /// The identity in use, after reading the files again if either changed since the last look
    /// (the files are read outside the lock; what was found is reported after it).
    private func current() -> Loaded {
        let certificateNow = FileManager.default.contents(atPath: certificateFile)
        let keyNow = FileManager.default.contents(atPath: keyFile)
        let (loaded, change) = state.withLock { state -> (Loaded, Change?) in
            guard certificateNow != state.certificateBytes || keyNow != state.keyBytes else { return (state.loaded, nil) }
            state.certificateBytes = certificateNow
            state.keyBytes = keyNow
            let before = state.loaded
            let kept = "serial \(before.serial), valid until \(before.notValidAfter.formatted(.iso8601))"
            do throws(TransportError) {
                let renewed = try self.check(certificate: certificateNow, key: keyNow, ca: before.identity.caCertificatePEM)
                state.loaded = renewed
                return (
                    renewed,
                    .renewed(
                        "certificate \(certificateFile) reloaded: serial \(renewed.serial), valid until \(renewed.notValidAfter.formatted(.iso8601)) "
                            + "(was \(kept)); each new connection is presented it, those open keep theirs"
                    )
                )
            } catch {
                return (
                    before,
                    .refused(
                        "certificate \(certificateFile) changed but is not used: \(Self.why(error)); the one read before (\(kept)) "
                            + "stays in use until the files are mended")
                )
            }
        }
        if let change { report(change) }
        return loaded
    }

    /// The identity these bytes make, checked as at start against the CA read then.
    private func check(certificate: Data?, key: Data?, ca: String) throws(TransportError) -> Loaded {
        let identity = try FederationIdentity(
            certificate: certificate, key: key, ca: Data(ca.utf8), certificateFile: certificateFile, keyFile: keyFile, caFile: caFile)
        if let servedHost { try identity.checkServerUse(certificateFile: certificateFile, host: servedHost) }
        return try Self.load(identity, certificateFile: certificateFile)
    }

    /// `identity` with its certificate's expiry and serial, and the certificate chain and key
    /// as TLS takes them.
    private static func load(_ identity: FederationIdentity, certificateFile: String) throws(TransportError) -> Loaded {
        let leaf = try FederationIdentity.certificates(in: identity.certificatePEM, file: certificateFile)[0]
        var handshake = NIOSSLContextConfigurationOverride()
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(identity.certificatePEM.utf8))
            let key = try NIOSSLPrivateKey(bytes: Array(identity.privateKeyPEM.utf8), format: .pem)
            handshake.certificateChain = chain.map { NIOSSLCertificateSource.certificate($0) }
            handshake.privateKey = NIOSSLPrivateKeySource.privateKey(key)
        } catch {
            throw .certificate("\(certificateFile): TLS cannot load it with its key (\(error))")
        }
        return Loaded(identity: identity, notValidAfter: leaf.notValidAfter, serial: serialNumber(of: leaf), handshake: handshake)
    }

    /// A refusal's reason without its "certificate: " prefix.
    private static func why(_ error: TransportError) -> String {
        if case .certificate(let why) = error { return why }
        return "\(error)"
    }
}
