import Foundation
import GRPCNIOTransportHTTP2
import SwiftASN1
import X509

/// One party's credentials in a federation: its certificate and key, and the federation
/// CA that every peer's certificate must be signed by. All PEM.
public struct FederationIdentity: Sendable {
    public let certificatePEM: String
    public let privateKeyPEM: String
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

    /// The server side: demands a client certificate signed by the federation CA.
    var server: HTTP2ServerTransport.Posix.TransportSecurity {
        switch self {
        case .insecureLoopback: return .plaintext
        case .mutualTLS(let identity):
            return .mTLS(certificateChain: identity.chain, privateKey: identity.key) {
                $0.trustRoots = identity.roots
                $0.clientCertificateVerification = .noHostnameVerification
            }
        }
    }

    /// The client side: verifies the coordinator against the federation CA (and its name
    /// or address), and presents the client's own certificate.
    var client: HTTP2ClientTransport.Posix.TransportSecurity {
        switch self {
        case .insecureLoopback: return .plaintext
        case .mutualTLS(let identity):
            return .mTLS(certificateChain: identity.chain, privateKey: identity.key) { $0.trustRoots = identity.roots }
        }
    }
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
    /// The PEMs as the TLS configuration takes them.
    var chain: [TLSConfig.CertificateSource] { [.bytes(Array(certificatePEM.utf8), format: .pem)] }
    var key: TLSConfig.PrivateKeySource { .bytes(Array(privateKeyPEM.utf8), format: .pem) }
    var roots: TLSConfig.TrustRootsSource { .certificates([.bytes(Array(caCertificatePEM.utf8), format: .pem)]) }

    /// Reads a certificate, its key and the federation CA from PEM files; errors name the file.
    public init(certificateFile: String, keyFile: String, caFile: String) throws(TransportError) {
        func read(_ path: String, _ what: String) throws(TransportError) -> String {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN")
            else {
                throw .certificate("\(path): cannot read the \(what) (a PEM file)")
            }
            return text
        }
        self.init(
            certificatePEM: try read(certificateFile, "certificate"), privateKeyPEM: try read(keyFile, "private key"),
            caCertificatePEM: try read(caFile, "CA certificate"))
        try check(certificateFile: certificateFile, keyFile: keyFile, caFile: caFile)
    }

    /// Refuses, before any connection, a key that is not the certificate's, and a
    /// certificate or CA that is expired or not yet valid: TLS would only say that the
    /// server stopped, or that the handshake failed.
    func check(certificateFile: String, keyFile: String, caFile: String, now: Date = Date()) throws(TransportError) {
        let certificate: Certificate, ca: Certificate, key: Certificate.PrivateKey
        do { certificate = try Certificate(pemEncoded: certificatePEM) } catch {
            throw .certificate("\(certificateFile): not a PEM certificate (\(error))")
        }
        do { ca = try Certificate(pemEncoded: caCertificatePEM) } catch { throw .certificate("\(caFile): not a PEM certificate (\(error))") }
        do { key = try Certificate.PrivateKey(pemEncoded: privateKeyPEM) } catch {
            throw .certificate("\(keyFile): not a PEM private key (\(error))")
        }
        guard key.publicKey == certificate.publicKey else {
            throw .certificate("\(keyFile) is not the private key of \(certificateFile); give the key that was issued with this certificate")
        }
        for (file, cert) in [(certificateFile, certificate), (caFile, ca)] {
            if cert.notValidAfter < now {
                throw .certificate("\(file) expired on \(cert.notValidAfter.formatted(.iso8601)); issue a new one (fedattn-coordinator provision)")
            }
            if cert.notValidBefore > now {
                throw .certificate("\(file) is not valid before \(cert.notValidBefore.formatted(.iso8601)); check this machine's clock")
            }
        }
        guard certificate.issuer == ca.subject else {
            throw .certificate("\(certificateFile) was issued by '\(certificate.issuer)', not by the CA in \(caFile) ('\(ca.subject)')")
        }
    }
}
