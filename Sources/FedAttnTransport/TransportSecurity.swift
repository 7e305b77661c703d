import Foundation
import GRPCNIOTransportHTTP2
import NIOCertificateReloading
import NIOSSL
import SwiftASN1
import X509

/// One party's credentials in a federation: its certificate and key, and the federation
/// CA that every peer's certificate must be signed by. All PEM, read as any TLS server reads
/// them: the certificate may be followed by the intermediate CAs that issued it (TLS
/// presents them all), and the CA may be a bundle of several roots and intermediates (TLS
/// trusts them all).
public struct FederationIdentity: Sendable {
    /// This party's certificate (the leaf) first, then any intermediate CA certificates.
    public let certificatePEM: String
    /// The leaf's private key.
    public let privateKeyPEM: String
    /// One or more CA certificates, every one trusted: the federation's root, and any
    /// intermediates.
    public let caCertificatePEM: String

    public init(certificatePEM: String, privateKeyPEM: String, caCertificatePEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
        self.caCertificatePEM = caCertificatePEM
    }
}

/// How a connection is secured: mutual TLS, or plaintext, which only loopback allows.
public enum TransportSecurity: Sendable {
    case mutualTLS(FederationIdentity)
    /// No encryption and no certificates: for a single machine only.
    case insecureLoopback

    /// Refuses plaintext anywhere but a loopback address.
    public func check(host: String) throws(TransportError) {
        if case .insecureLoopback = self, !Self.isLoopback(host) {
            throw .insecureNotLoopback(host)
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The server side: demands a client certificate signed by the federation CA. With
    /// `files` (those the identity was read from), each new connection is presented the
    /// certificate the files hold then, once it checks (`IdentityFiles`).
    func server(reloading files: IdentityFiles? = nil) -> HTTP2ServerTransport.Posix.TransportSecurity {
        switch self {
        case .insecureLoopback: return .plaintext
        case .mutualTLS(let identity):
            return .mTLS(certificateChain: identity.chain, privateKey: identity.key) {
                $0.trustRoots = identity.roots
                $0.clientCertificateVerification = .noHostnameVerification
                if let files { $0.certificateReloader = IdentityReloader(files: files) }
            }
        }
    }

    /// The client side: verifies the coordinator against the federation CA (and its name
    /// or address), and presents the client's own certificate; with `files`, the one they
    /// hold at each new connection, as for the server.
    func client(reloading files: IdentityFiles? = nil) -> HTTP2ClientTransport.Posix.TransportSecurity {
        switch self {
        case .insecureLoopback: return .plaintext
        case .mutualTLS(let identity):
            return .mTLS(certificateChain: identity.chain, privateKey: identity.key) {
                $0.trustRoots = identity.roots
                if let files { $0.certificateReloader = IdentityReloader(files: files) }
            }
        }
    }
}

/// What a TLS handshake asks for, on either side: the certificate and key that `files` hold
/// now (read again if they changed, and used once they check).
struct IdentityReloader: CertificateReloader {
    let files: IdentityFiles

    var sslContextConfigurationOverride: NIOSSLContextConfigurationOverride { files.handshakeOverride }
}

public enum TransportError: Error, Equatable, CustomStringConvertible {
    case insecureNotLoopback(String)
    case certificate(String)
    /// The server could not listen on `address`; `cause` says why and what to change.
    case bind(address: String, cause: String)
    /// A `--host` that is not an IP address (or localhost).
    case badHost(String)

    public var description: String {
        switch self {
        case .insecureNotLoopback(let host):
            "plaintext is refused on \(host): --insecure is only allowed on a loopback address (127.0.0.1, ::1, localhost)"
        case .certificate(let why): "certificate: \(why)"
        case .bind(let address, let cause): "cannot listen on \(address): \(cause)"
        case .badHost(let host): "--host '\(host)' is not an IPv4 or IPv6 address (or localhost)"
        }
    }
}

extension FederationIdentity {
    /// The PEMs as the TLS configuration takes them: every certificate of the certificate
    /// file is presented (the leaf, then its intermediates), every one of the CA file trusted.
    var chain: [TLSConfig.CertificateSource] { [.bytes(Array(certificatePEM.utf8), format: .pem)] }
    var key: TLSConfig.PrivateKeySource { .bytes(Array(privateKeyPEM.utf8), format: .pem) }
    var roots: TLSConfig.TrustRootsSource { .certificates([.bytes(Array(caCertificatePEM.utf8), format: .pem)]) }

    /// Reads a certificate (optionally followed by its intermediates), its key and the
    /// federation CA (one certificate or a bundle) from PEM files; errors name the file.
    public init(certificateFile: String, keyFile: String, caFile: String) throws(TransportError) {
        try self.init(
            certificate: FileManager.default.contents(atPath: certificateFile), key: FileManager.default.contents(atPath: keyFile),
            ca: FileManager.default.contents(atPath: caFile), certificateFile: certificateFile, keyFile: keyFile, caFile: caFile)
    }

    /// The identity whose files held these bytes (nil: the file could not be read), checked
    /// as `init(certificateFile:keyFile:caFile:)` checks it; errors name the file.
    init(certificate: Data?, key: Data?, ca: Data?, certificateFile: String, keyFile: String, caFile: String) throws(TransportError) {
        func text(_ data: Data?, _ path: String, _ what: String) throws(TransportError) -> String {
            guard let data, let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN") else {
                throw .certificate("\(path): cannot read the \(what) (a PEM file)")
            }
            return text
        }
        self.init(
            certificatePEM: try text(certificate, certificateFile, "certificate"), privateKeyPEM: try text(key, keyFile, "private key"),
            caCertificatePEM: try text(ca, caFile, "CA certificate"))
        try check(certificateFile: certificateFile, keyFile: keyFile, caFile: caFile)
    }

    /// Refuses, before any connection, a key that is not the leaf's, a certificate that no
    /// CA in the CA file issued (directly or through the intermediates after it), and a
    /// certificate on that path that is expired or not yet valid: TLS would only say that
    /// the server stopped, or that the handshake failed.
    func check(certificateFile: String, keyFile: String, caFile: String, now: Date = Date()) throws(TransportError) {
        let presented = try Self.certificates(in: certificatePEM, file: certificateFile)
        let trusted = try Self.certificates(in: caCertificatePEM, file: caFile)
        let key: Certificate.PrivateKey
        do { key = try Certificate.PrivateKey(pemEncoded: privateKeyPEM) } catch {
            throw .certificate("\(keyFile): not a PEM private key (\(error))")
        }
        let leaf = presented[0]
        guard key.publicKey == leaf.publicKey else {
            throw .certificate("\(keyFile) is not the private key of \(certificateFile); give the key that was issued with this certificate")
        }
        try Self.checkDates(of: leaf, named: certificateFile, now: now)
        let path = try Self.trustPath(presented: presented, trusted: trusted, certificateFile: certificateFile, caFile: caFile)
        for link in path.dropFirst() {
            let alone = (link.file == caFile ? trusted : presented).count == 1
            try Self.checkDates(of: link.certificate, named: alone ? link.file : "\(link.file) ('\(link.certificate.subject)')", now: now)
        }
        try Self.checkSignatures(along: path)
    }

    /// The signature algorithms swift-certificates verifies; a certificate signed with another
    /// is left to the TLS handshake.
    private static let verifiableSignatures: Set<Certificate.SignatureAlgorithm> = [
        .ecdsaWithSHA256, .ecdsaWithSHA384, .ecdsaWithSHA512, .sha256WithRSAEncryption, .sha384WithRSAEncryption, .sha512WithRSAEncryption,
        .ed25519,
    ]

    /// Refuses a path on which a certificate was not signed by the CA it names as its issuer,
    /// but by another CA of the same name: `provision` gives every federation's CA the same
    /// name, so a certificate renewed or signed by another federation's CA passes the look-up
    /// by name and would fail only at the handshake.
    static func checkSignatures(along path: [(file: String, certificate: Certificate)]) throws(TransportError) {
        for (link, issuer) in zip(path, path.dropFirst()) where verifiableSignatures.contains(link.certificate.signatureAlgorithm) {
            guard !issuer.certificate.publicKey.isValidSignature(link.certificate.signature, for: link.certificate) else { continue }
            throw .certificate(
                "\(link.file) ('\(link.certificate.subject)') names '\(issuer.certificate.subject)' as its issuer, but the CA of that name in "
                    + "\(issuer.file) did not sign it: another CA of the same name did (another federation's?); give a certificate this "
                    + "federation's CA issued (fedattn-coordinator renew or sign)")
        }
    }

    /// Refuses a certificate not meant for a server: one whose extended key usage does not
    /// include serverAuth (a silo's client certificate). TLS would listen with it, and every
    /// client would then be told the coordinator's certificate is not signed by the CA or has
    /// expired, which is not what is wrong. With `host` (the address served, `--host`), also
    /// one that does not name it: a specific address must be among the certificate's subject
    /// alternative names (a DNS name or an IP address), or clients dialling it refuse the
    /// server; a wildcard address (0.0.0.0, ::) or nil checks no name, as clients then dial
    /// whatever reaches this machine.
    /// - Throws: `TransportError.certificate` naming the file and what to give instead.
    public func checkServerUse(certificateFile: String, host: String? = nil) throws(TransportError) {
        let leaf = try Self.certificates(in: certificatePEM, file: certificateFile)[0]
        let usage: ExtendedKeyUsage?
        do { usage = try leaf.extensions.extendedKeyUsage } catch {
            throw .certificate("\(certificateFile): its extended key usage cannot be read (\(error))")
        }
        if let usage, !usage.contains(.serverAuth) {
            throw .certificate(
                "\(certificateFile) ('\(leaf.subject)') is not a server certificate (its extended key usage is "
                    + "\(usage.map { "\($0)" }.joined(separator: ", ")), without serverAuth): a silo's certificate cannot serve; give the "
                    + "coordinator's (provision writes it to coordinator/cert.pem)")
        }
        guard let host, !ServerNames.isWildcard(host) else { return }
        let names: [String]
        do { names = try ServerNames.names(of: leaf) } catch {
            throw .certificate("\(certificateFile): its subject alternative names cannot be read (\(error))")
        }
        guard !ServerNames.names(names, include: host) else { return }
        let has = names.isEmpty ? "names no host (it has no subject alternative names)" : "names \(names.joined(separator: ", "))"
        throw .certificate(
            "\(certificateFile) \(has), not \(host), the address serve listens on (--host): clients dialling \(host) would refuse it. "
                + "Renew it for the names clients dial, this one among them (fedattn-coordinator renew --federation DIR --server "
                + "--coordinator-host \((names + [host]).joined(separator: " "))), or listen on 0.0.0.0 or :: (every interface; no name is "
                + "checked then) if clients reach this machine by a name in the certificate through another address (NAT, say)")
    }

    /// The certificates of a PEM file, in order, as TLS reads them: blocks of other kinds (a
    /// key kept beside them) are passed over, and a file with none is refused.
    static func certificates(in pem: String, file: String) throws(TransportError) -> [Certificate] {
        let documents: [PEMDocument]
        do { documents = try PEMDocument.parseMultiple(pemString: pem) } catch {
            throw .certificate("\(file): not a PEM certificate (\(error))")
        }
        var certificates: [Certificate] = []
        for (index, document) in documents.enumerated() where document.discriminator == Certificate.defaultPEMDiscriminator {
            do { certificates.append(try Certificate(pemDocument: document)) } catch {
                throw .certificate("\(file): PEM block \(index + 1) is not a readable certificate (\(error))")
            }
        }
        guard !certificates.isEmpty else { throw .certificate("\(file): not a PEM certificate (no '-----BEGIN CERTIFICATE-----' block)") }
        return certificates
    }

    /// The chain TLS builds from the leaf (the certificate file's first certificate) to a
    /// root (a self-signed CA) that the CA file holds: each certificate's issuer is looked
    /// up by name in the CA file first, then among the certificate file's intermediates.
    /// By name only: the handshake checks the signatures.
    /// - Returns: the path, leaf first, each certificate with the file it came from.
    static func trustPath(
        presented: [Certificate], trusted: [Certificate], certificateFile: String, caFile: String
    ) throws(TransportError) -> [(file: String, certificate: Certificate)] {
        var path: [(file: String, certificate: Certificate)] = [(certificateFile, presented[0])]
        // Each certificate is used once, so a loop of issuers ends.
        var candidates: [(file: String, certificate: Certificate)] = trusted.map { (file: caFile, certificate: $0) }
        candidates += presented.dropFirst().map { (file: certificateFile, certificate: $0) }
        while let last = path.last?.certificate, last.issuer != last.subject {
            guard let index = candidates.firstIndex(where: { $0.certificate.subject == last.issuer }) else {
                guard path.count == 1 else {
                    throw .certificate(
                        "the CA '\(last.subject)' in \(path[path.count - 1].file) was issued by '\(last.issuer)', which neither \(certificateFile) nor \(caFile) holds; TLS trusts a chain only up to a root (a self-signed CA): add '\(last.issuer)' to \(caFile)"
                    )
                }
                let held =
                    trusted.prefix(3).map { "'\($0.subject)'" }.joined(separator: ", ") + (trusted.count > 3 ? " and \(trusted.count - 3) more" : "")
                throw .certificate(
                    "\(certificateFile) was issued by '\(last.issuer)', not by the CA in \(caFile) (\(held))"
                        + (presented.count > 1 ? " nor by an intermediate in \(certificateFile)" : "")
                        + "; an intermediate CA goes after the certificate in \(certificateFile), or into \(caFile)")
            }
            path.append(candidates.remove(at: index))
        }
        let root = path[path.count - 1]
        guard root.file == caFile || trusted.contains(root.certificate) else {
            throw .certificate(
                "\(certificateFile) leads to the root '\(root.certificate.subject)', which \(caFile) does not hold: the federation CA is not this certificate's root"
            )
        }
        return path
    }

    /// Refuses `certificate` (called `name` in the error) if it is expired or not yet valid at `now`.
    static func checkDates(of certificate: Certificate, named name: String, now: Date) throws(TransportError) {
        if certificate.notValidAfter < now {
            throw .certificate(
                "\(name) expired on \(certificate.notValidAfter.formatted(.iso8601)); issue a new one (fedattn-coordinator renew, or the federation's CA)"
            )
        }
        if certificate.notValidBefore > now {
            throw .certificate("\(name) is not valid before \(certificate.notValidBefore.formatted(.iso8601)); check this machine's clock")
        }
    }
}
