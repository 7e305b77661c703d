import Crypto
public import Foundation
import SwiftASN1
import X509

/// A certificate renewed from the federation's CA (`fedattn-coordinator renew`): the new one,
/// the one it renews, and the new key if one was made.
public struct RenewedCertificate: Sendable {
    /// The new certificate: a new serial; the subject, extended key usage and names of the one
    /// it renews (or the names given).
    public let certificate: IssuedCertificate
    /// The certificate renewed. Nothing revokes it: it stays valid until it expires.
    public let previous: IssuedCertificate
    /// The new private key (PEM, P-256) when one was asked for; nil when the new certificate is
    /// for the key the previous one had.
    public let privateKeyPEM: String?
    /// The DNS names and IP addresses the new certificate is valid for (a coordinator's); empty
    /// for a silo's.
    public let names: [String]
    /// Whether the CA's end cut the validity asked for short: the certificate ends with the CA.
    public let endsWithTheCA: Bool
}

extension DevCertificateAuthority {
    /// Renews the certificate in `certificatePEM` (its first; read from `certificateFile`,
    /// which errors name): a new certificate with a new serial, the same subject, extended key
    /// usage and subject alternative names (`hosts`, when given, replace the names: a
    /// coordinator's addresses), valid for `validity` seconds from `now` but never past the CA's
    /// end. It is for the key in `keyPEM` (read from `keyFile`), or for a new key with `newKey`.
    /// The previous certificate is not revoked.
    /// - Throws: `TransportError.certificate` naming the file: not a certificate, one this CA
    ///   did not sign, a CA certificate, or (without `newKey`) a key that is not the certificate's.
    public func renew(
        certificatePEM: String, certificateFile: String, keyPEM: String, keyFile: String, newKey: Bool, hosts: [String]? = nil,
        validity: TimeInterval, now: Date = Date()
    ) throws -> RenewedCertificate {
        let old = try FederationIdentity.certificates(in: certificatePEM, file: certificateFile)[0]
        guard old.issuer == certificate.subject, certificate.publicKey.isValidSignature(old.signature, for: old) else {
            throw TransportError.certificate(
                "\(certificateFile) ('\(old.subject)') was not issued by this federation's CA ('\(certificate.subject)'): renew only what it issued")
        }
        if let constraints = try? old.extensions.basicConstraints, case .isCertificateAuthority = constraints {
            throw TransportError.certificate("\(certificateFile) is a CA certificate: renew issues leaves only")
        }
        let publicKey: Certificate.PublicKey
        var madeKey: String?
        if newKey {
            let key = P256.Signing.PrivateKey()
            publicKey = Certificate.PublicKey(key.publicKey)
            madeKey = key.pemRepresentation
        } else {
            let key: Certificate.PrivateKey
            do { key = try Certificate.PrivateKey(pemEncoded: keyPEM) } catch {
                throw TransportError.certificate("\(keyFile): not a PEM private key (\(error))")
            }
            guard key.publicKey == old.publicKey else {
                throw TransportError.certificate(
                    "\(keyFile) is not the private key of \(certificateFile): give the certificate's own key, or --new-key for a new one")
            }
            publicKey = old.publicKey
        }
        let usage: ExtendedKeyUsage
        let oldNames: [GeneralName]
        do {
            usage = try old.extensions.extendedKeyUsage ?? ExtendedKeyUsage([.clientAuth])
            oldNames = Array(try old.extensions.subjectAlternativeNames ?? SubjectAlternativeNames())
        } catch {
            throw TransportError.certificate("\(certificateFile): its extensions cannot be read (\(error))")
        }
        let names = hosts.map(ServerNames.generalNames) ?? oldNames
        let leaf = try leafCertificate(subject: old.subject, publicKey: publicKey, usage: usage, names: names, validity: validity, now: now)
        let pem = try leaf.serializeAsPEM().pemString
        return RenewedCertificate(
            certificate: try IssuedCertificate(pem: pem, file: certificateFile),
            previous: try IssuedCertificate(pem: certificatePEM, file: certificateFile), privateKeyPEM: madeKey,
            names: try ServerNames.names(of: leaf), endsWithTheCA: clips(validity: validity, now: now))
    }
}
