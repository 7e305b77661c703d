import Crypto
public import Foundation
import SwiftASN1
public import X509

/// A certificate authority made fresh in memory: throw-away for simulations, tests and demos
/// (nothing checked in can expire or leak), or written out once by `provision`.
public struct DevCertificateAuthority: Sendable {
    public let name: String
    private let key: P256.Signing.PrivateKey
    public let certificate: Certificate

    public init(name: String = "FedAttention dev CA", validity: TimeInterval = 30 * 86_400) throws {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let subject = try DistinguishedName {
            OrganizationName("FedAttention")
            CommonName(name)
        }
        certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now - 300, notValidAfter: now + validity, issuer: subject, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        self.name = name
        self.key = key
    }

    /// The CA's private key as PEM: keep it offline; it signs every identity of the federation.
    public var privateKeyPEM: String { key.pemRepresentation }

    /// The CA certificate as PEM.
    public var certificatePEM: String { (try? certificate.serializeAsPEM().pemString) ?? "" }

    /// A coordinator identity valid for `hosts` (IPv4 addresses or DNS names).
    public func serverIdentity(hosts: [String] = ["127.0.0.1", "localhost"], validity: TimeInterval = 30 * 86_400) throws -> FederationIdentity {
        try issue(commonName: hosts.first ?? "coordinator", usage: .serverAuth, hosts: hosts, validity: validity)
    }

    /// A client identity whose common name is the silo's name.
    public func clientIdentity(name: String, validity: TimeInterval = 30 * 86_400) throws -> FederationIdentity {
        try issue(commonName: name, usage: .clientAuth, hosts: [], validity: validity)
    }

    private func issue(commonName: String, usage: ExtendedKeyUsage.Usage, hosts: [String], validity: TimeInterval) throws -> FederationIdentity {
        let leafKey = P256.Signing.PrivateKey()
        let now = Date()
        let names: [GeneralName] = hosts.map { host in
            let octets = host.split(separator: ".").compactMap { UInt8($0) }
            return octets.count == 4 ? .ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets))) : .dnsName(host)
        }
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey),
            // A negative validity makes an already expired certificate (for testing refusals).
            notValidBefore: min(now - 300, now + validity - 86_400), notValidAfter: now + validity, issuer: certificate.subject,
            subject: try DistinguishedName {
                OrganizationName("FedAttention")
                CommonName(commonName)
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([usage])
                if !names.isEmpty { SubjectAlternativeNames(names) }
            },
            issuerPrivateKey: .init(key))
        return FederationIdentity(
            certificatePEM: try leaf.serializeAsPEM().pemString, privateKeyPEM: leafKey.pemRepresentation, caCertificatePEM: certificatePEM)
    }
}

/// The common name (CN) of a certificate's subject: a client's identity.
func commonName(of certificate: Certificate) -> String? {
    for rdn in certificate.subject {
        for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
            return String(describing: attribute.value)
        }
    }
    return nil
}
