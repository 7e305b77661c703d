import Crypto
public import FedAttnFederation
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

    /// An existing federation's CA, read from its certificate and key (what `provision`
    /// wrote as `ca/ca.pem` and `ca/ca.key`): to add a silo to the federation, or sign a
    /// silo's request, with the CA its coordinator already trusts.
    /// - Throws: `TransportError.certificate` naming the file: not readable, not a PEM
    ///   certificate, not a CA certificate, not a P-256 key, or not the certificate's key.
    public init(certificateFile: String, keyFile: String) throws {
        func read(_ path: String, _ what: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw TransportError.certificate("\(path): cannot read the \(what)")
            }
            return text
        }
        let certificate = try FederationIdentity.certificates(in: try read(certificateFile, "federation's CA certificate"), file: certificateFile)[0]
        let key: P256.Signing.PrivateKey
        do { key = try P256.Signing.PrivateKey(pemRepresentation: try read(keyFile, "federation's CA key")) } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError.certificate("\(keyFile): not a P-256 private key in PEM, as provision writes (\(error))")
        }
        guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
            throw TransportError.certificate("\(keyFile) is not the private key of \(certificateFile)")
        }
        guard let constraints = try? certificate.extensions.basicConstraints, case .isCertificateAuthority = constraints else {
            throw TransportError.certificate("\(certificateFile) is not a CA certificate: it cannot sign the silos' certificates")
        }
        self.name = commonName(in: certificate.subject) ?? "\(certificate.subject)"
        self.key = key
        self.certificate = certificate
    }

    /// The CA's private key as PEM: keep it offline; it signs every identity of the federation.
    public var privateKeyPEM: String { key.pemRepresentation }

    /// The CA certificate as PEM.
    public var certificatePEM: String { (try? certificate.serializeAsPEM().pemString) ?? "" }

    /// When the CA expires: no certificate it signs is valid past it, and after it no party of
    /// the federation can connect (a CA is never renewed in place: its trust is in every kit).
    public var notValidAfter: Date { certificate.notValidAfter }

    /// Whether a certificate asked for `validity` seconds from `now` would outlive the CA, and
    /// so ends with it instead (what `provision`, `renew` and `sign` say when it does).
    public func clips(validity: TimeInterval, now: Date = Date()) -> Bool { now + validity > certificate.notValidAfter }

    /// A coordinator identity valid for `hosts` (IPv4 addresses or DNS names).
    public func serverIdentity(hosts: [String] = ["127.0.0.1", "localhost"], validity: TimeInterval = 30 * 86_400) throws -> FederationIdentity {
        try issue(commonName: hosts.first ?? "coordinator", usage: .serverAuth, hosts: hosts, validity: validity)
    }

    /// A client identity whose common name is the silo's name.
    public func clientIdentity(name: String, validity: TimeInterval = 30 * 86_400) throws -> FederationIdentity {
        try issue(commonName: name, usage: .clientAuth, hosts: [], validity: validity)
    }

    /// Signs a silo's certificate signing request (what `fedattn-client request-certificate`
    /// made in the silo, whose key stays there): a client certificate (client authentication
    /// only) for the public key the request holds, named as the request names the silo,
    /// valid for `validity` seconds (never past the CA's own end).
    /// - Throws: `TransportError.certificate` naming `file`: not a PEM certificate request, a
    ///   signature that its own key did not make (the request was altered), no common name,
    ///   or a common name that is not a silo name.
    public func sign(requestPEM: String, file: String, validity: TimeInterval) throws -> IssuedCertificate {
        let request: CertificateSigningRequest
        do { request = try CertificateSigningRequest(pemEncoded: requestPEM) } catch {
            throw TransportError.certificate("\(file): not a PEM certificate signing request ('-----BEGIN CERTIFICATE REQUEST-----') (\(error))")
        }
        guard request.publicKey.isValidSignature(request.signature, for: request) else {
            throw TransportError.certificate(
                "\(file): its signature was not made by the key it holds: the request was altered, or not made by fedattn-client request-certificate")
        }
        guard let name = commonName(in: request.subject) else {
            throw TransportError.certificate("\(file): the request names no silo (its subject '\(request.subject)' has no common name)")
        }
        if let problem = SiloName.problem(with: name) {
            throw TransportError.certificate("\(file): the request's common name \(SiloName.quoted(name)) is not a silo name: \(problem)")
        }
        let leaf = try leafCertificate(commonName: name, publicKey: request.publicKey, usage: .clientAuth, hosts: [], validity: validity)
        return try IssuedCertificate(pem: try leaf.serializeAsPEM().pemString, file: file)
    }

    private func issue(commonName: String, usage: ExtendedKeyUsage.Usage, hosts: [String], validity: TimeInterval) throws -> FederationIdentity {
        let leafKey = P256.Signing.PrivateKey()
        let leaf = try leafCertificate(commonName: commonName, publicKey: .init(leafKey.publicKey), usage: usage, hosts: hosts, validity: validity)
        return FederationIdentity(
            certificatePEM: try leaf.serializeAsPEM().pemString, privateKeyPEM: leafKey.pemRepresentation, caCertificatePEM: certificatePEM)
    }

    /// A leaf this CA signs for `publicKey`, named `commonName`, valid for `validity` seconds
    /// from now but never past the CA's own end.
    private func leafCertificate(
        commonName: String, publicKey: Certificate.PublicKey, usage: ExtendedKeyUsage.Usage, hosts: [String], validity: TimeInterval
    ) throws -> Certificate {
        let subject = try DistinguishedName {
            OrganizationName("FedAttention")
            CommonName(commonName)
        }
        return try leafCertificate(
            subject: subject, publicKey: publicKey, usage: try ExtendedKeyUsage([usage]), names: ServerNames.generalNames(hosts), validity: validity)
    }

    /// A leaf this CA signs for `publicKey`: `subject`, with the extended key `usage` and the
    /// subject alternative `names` (none: no such extension), a new serial, valid for
    /// `validity` seconds from `now` but never past the CA's own end.
    func leafCertificate(
        subject: DistinguishedName, publicKey: Certificate.PublicKey, usage: ExtendedKeyUsage, names: [GeneralName], validity: TimeInterval,
        now: Date = Date()
    ) throws -> Certificate {
        try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey,
            // A negative validity makes an already expired certificate (for testing refusals).
            notValidBefore: min(now - 300, now + validity - 86_400), notValidAfter: min(now + validity, certificate.notValidAfter),
            issuer: certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                usage
                if !names.isEmpty { SubjectAlternativeNames(names) }
            },
            issuerPrivateKey: .init(key))
    }
}

/// A silo's own private key and its certificate signing request (PKCS#10), made in the silo
/// (`fedattn-client request-certificate`): the federation's operator signs the request
/// (`fedattn-coordinator sign`), and the key never leaves the silo.
public struct CertificateRequest: Sendable {
    /// The silo's name: the request's (and so the certificate's) common name.
    public let siloName: String
    /// The silo's key (a new P-256 one, or the one it renews with), as PEM: it stays in the silo.
    public let privateKeyPEM: String
    /// The request, as PEM ('-----BEGIN CERTIFICATE REQUEST-----'): what is sent to the operator.
    public let requestPEM: String

    /// Makes a fresh key and a request, signed with it, for a certificate naming `siloName`.
    /// - Throws: `TransportError.certificate` for a name that is not a silo name.
    public init(siloName: String) throws {
        if let problem = SiloName.problem(with: siloName) {
            throw TransportError.certificate("\(SiloName.quoted(siloName)) is not a silo name: \(problem)")
        }
        let key = P256.Signing.PrivateKey()
        let request = try CertificateSigningRequest(
            version: .v1,
            subject: try DistinguishedName {
                OrganizationName("FedAttention")
                CommonName(siloName)
            },
            privateKey: Certificate.PrivateKey(key), attributes: CertificateSigningRequest.Attributes())
        self.siloName = siloName
        privateKeyPEM = key.pemRepresentation
        requestPEM = try request.serializeAsPEM().pemString
    }

    /// A request for a certificate naming `siloName`, signed with the silo's existing key
    /// `privateKeyPEM` (read from `keyFile`, which errors name): to renew its certificate, the
    /// key staying as it is.
    /// - Throws: `TransportError.certificate` for a name that is not a silo name, or a key that
    ///   is not a PEM private key.
    public init(siloName: String, privateKeyPEM: String, keyFile: String) throws {
        if let problem = SiloName.problem(with: siloName) {
            throw TransportError.certificate("\(SiloName.quoted(siloName)) is not a silo name: \(problem)")
        }
        let key: Certificate.PrivateKey
        do { key = try Certificate.PrivateKey(pemEncoded: privateKeyPEM) } catch {
            throw TransportError.certificate("\(keyFile): not a PEM private key (\(error))")
        }
        let request = try CertificateSigningRequest(
            version: .v1,
            subject: try DistinguishedName {
                OrganizationName("FedAttention")
                CommonName(siloName)
            },
            privateKey: key, attributes: CertificateSigningRequest.Attributes())
        self.siloName = siloName
        self.privateKeyPEM = privateKeyPEM
        requestPEM = try request.serializeAsPEM().pemString
    }
}

/// What a certificate says of itself that membership needs: its silo (common name), serial
/// and end of validity; with its PEM.
public struct IssuedCertificate: Sendable {
    /// Its common name (for a silo's certificate, the silo's name), if it has one.
    public let name: String?
    public let serial: CertificateSerial
    public let notValidAfter: Date
    public let certificatePEM: String

    /// Reads the first certificate of `pem` (the contents of `file`, which errors name).
    /// - Throws: `TransportError.certificate` when it holds no readable certificate.
    public init(pem: String, file: String) throws {
        // The first certificate: a certificate file may carry its intermediates after it.
        let certificate = try FederationIdentity.certificates(in: pem, file: file)[0]
        name = commonName(in: certificate.subject)
        serial = serialNumber(of: certificate)
        notValidAfter = certificate.notValidAfter
        certificatePEM = pem
    }

    /// Reads the certificate in `file`.
    /// - Throws: `TransportError.certificate` naming the file when it cannot be read or holds none.
    public init(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw TransportError.certificate("\(file): cannot read the certificate")
        }
        try self.init(pem: text, file: file)
    }
}

/// The common name (CN) of a certificate's subject: a client's identity.
func commonName(of certificate: Certificate) -> String? {
    commonName(in: certificate.subject)
}

/// The common name (CN) in a distinguished name (a certificate's subject, a request's).
func commonName(in name: DistinguishedName) -> String? {
    for rdn in name {
        for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
            return String(describing: attribute.value)
        }
    }
    return nil
}

/// A certificate's serial number, as the revocation list writes it.
func serialNumber(of certificate: Certificate) -> CertificateSerial {
    CertificateSerial(bytes: certificate.serialNumber.bytes)
}
