import Crypto
import FedAttnFederation
import FedAttnModel
import FedAttnTransport
import Foundation
import SwiftASN1
import Testing
import X509
import _FedAttnTestSupport

/// An operator's own CA, as most run one: a root that signs an issuing (intermediate) CA,
/// which signs the leaves. `serve` and `join` read its files as any TLS server does: a
/// certificate file holding the leaf and then its intermediate, or a CA file holding a
/// bundle of the root and the intermediate (secretflow #547: both were refused with
/// "Multiple PEMDocuments found").
struct CertificateChainTests {
    /// A root CA, and an intermediate CA it signed; made fresh for each test.
    struct Hierarchy {
        let root: Certificate, intermediate: Certificate
        private let intermediateKey: P256.Signing.PrivateKey

        /// The intermediate is valid until `intermediateValidity` seconds from now (negative:
        /// already expired).
        init(intermediateValidity: TimeInterval = 86_400) throws {
            let now = Date()
            let rootKey = P256.Signing.PrivateKey(), intermediateKey = P256.Signing.PrivateKey()
            let rootName = try DistinguishedName {
                OrganizationName("Operator")
                CommonName("Operator root CA")
            }
            let intermediateName = try DistinguishedName {
                OrganizationName("Operator")
                CommonName("Operator issuing CA")
            }
            root = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(rootKey.publicKey),
                notValidBefore: now - 300, notValidAfter: now + 86_400, issuer: rootName, subject: rootName,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 1))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: .init(rootKey.publicKey))
                },
                issuerPrivateKey: .init(rootKey))
            intermediate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(intermediateKey.publicKey),
                notValidBefore: min(now - 300, now + intermediateValidity - 86_400), notValidAfter: now + intermediateValidity,
                issuer: rootName, subject: intermediateName,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: .init(intermediateKey.publicKey))
                },
                issuerPrivateKey: .init(rootKey))
            self.intermediateKey = intermediateKey
        }

        /// A leaf the intermediate signed: the coordinator's (for 127.0.0.1 and localhost)
        /// or a silo's (its name as the common name). Its PEM and its key's.
        func leaf(commonName: String, server: Bool) throws -> (certificatePEM: String, privateKeyPEM: String) {
            let key = P256.Signing.PrivateKey()
            let now = Date()
            let usage: ExtendedKeyUsage.Usage = server ? .serverAuth : .clientAuth
            let names: [GeneralName] = [.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])), .dnsName("localhost")]
            let certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: now - 300, notValidAfter: now + 86_400, issuer: intermediate.subject,
                subject: try DistinguishedName {
                    OrganizationName("Operator")
                    CommonName(commonName)
                },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([usage])
                    if server { SubjectAlternativeNames(names) }
                },
                issuerPrivateKey: .init(intermediateKey))
            return (try Self.pem(certificate), key.pemRepresentation)
        }

        /// Certificates end to end in one PEM text, as `cat` would join their files.
        static func pem(_ certificates: Certificate...) throws -> String {
            try certificates.map { try $0.serializeAsPEM().pemString + "\n" }.joined()
        }

        var rootPEM: String { get throws { try Self.pem(root) } }
        var intermediatePEM: String { get throws { try Self.pem(intermediate) } }
    }

    /// The identity's three files written to a fresh folder and read back as `serve` and
    /// `join` read them (`--cert`, `--key`, `--ca`).
    static func load(certificate: String, key: String, ca: String) throws -> FederationIdentity {
        let folder = try Fixtures.temporaryFolder()
        for (name, text) in [("cert.pem", certificate), ("key.pem", key), ("ca.pem", ca)] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/" + name))
        }
        return try FederationIdentity(certificateFile: folder + "/cert.pem", keyFile: folder + "/key.pem", caFile: folder + "/ca.pem")
    }

    /// The leaf's file may carry its intermediate, or the CA file may bundle it with the root
    /// (or both): each loads, and the files are passed to TLS as they are, whole.
    @Test func aChainFileOrACABundleLoads() throws {
        let ca = try Hierarchy()
        let silo = try ca.leaf(commonName: "silo-1", server: false)
        let root = try ca.rootPEM, intermediate = try ca.intermediatePEM
        let layouts = [
            (certificate: silo.certificatePEM + intermediate, ca: root),
            (certificate: silo.certificatePEM, ca: root + intermediate),
            (certificate: silo.certificatePEM + intermediate, ca: root + intermediate),
            // A key kept in the certificate file is passed over, as TLS passes it over.
            (certificate: silo.certificatePEM + silo.privateKeyPEM + "\n" + intermediate, ca: root),
        ]
        for layout in layouts {
            let identity = try Self.load(certificate: layout.certificate, key: silo.privateKeyPEM, ca: layout.ca)
            #expect(identity.certificatePEM == layout.certificate && identity.caCertificatePEM == layout.ca)
        }
    }

    /// What cannot work is still named before any connection: a leaf whose intermediate is
    /// in neither file, a CA file without the root, an expired intermediate, and a key that
    /// is not the leaf's (the first certificate of the file).
    @Test func aChainThatCannotWorkIsNamedAtLoad() throws {
        let ca = try Hierarchy()
        let silo = try ca.leaf(commonName: "silo-1", server: false)
        let root = try ca.rootPEM, intermediate = try ca.intermediatePEM
        func refusal(certificate: String, key: String? = nil, trusting: String) throws -> String {
            let error = try #require(throws: TransportError.self) {
                try Self.load(certificate: certificate, key: key ?? silo.privateKeyPEM, ca: trusting)
            }
            return error.description
        }
        let noIntermediate = try refusal(certificate: silo.certificatePEM, trusting: root)
        #expect(noIntermediate.contains("/cert.pem was issued by 'CN=Operator issuing CA,O=Operator', not by the CA in "), "\(noIntermediate)")
        #expect(noIntermediate.contains("an intermediate CA goes after the certificate in"), "\(noIntermediate)")
        let noRoot = try refusal(certificate: silo.certificatePEM, trusting: intermediate)
        #expect(
            noRoot.contains("the CA 'CN=Operator issuing CA,O=Operator' in ")
                && noRoot.contains("was issued by 'CN=Operator root CA,O=Operator', which neither"), "\(noRoot)")
        let stale = try Hierarchy(intermediateValidity: -60)
        let staleSilo = try stale.leaf(commonName: "silo-1", server: false)
        let staleChain = try stale.intermediatePEM, staleRoot = try stale.rootPEM
        let expired = try refusal(certificate: staleSilo.certificatePEM + staleChain, key: staleSilo.privateKeyPEM, trusting: staleRoot)
        #expect(expired.contains("/cert.pem ('CN=Operator issuing CA,O=Operator') expired on"), "\(expired)")
        let otherKey = try ca.leaf(commonName: "silo-2", server: false).privateKeyPEM
        let wrongKey = try refusal(certificate: silo.certificatePEM + intermediate, key: otherKey, trusting: root)
        #expect(wrongKey.contains("/key.pem is not the private key of ") && wrongKey.contains("/cert.pem"), "\(wrongKey)")
        let noCertificate = try refusal(certificate: silo.privateKeyPEM, trusting: root)
        #expect(noCertificate.contains("/cert.pem: not a PEM certificate (no '-----BEGIN CERTIFICATE-----' block)"), "\(noCertificate)")
    }

    /// Over real mutual TLS on 127.0.0.1, a silo whose leaf the intermediate signed joins a
    /// coordinator whose leaf it signed too: with each certificate file carrying the
    /// intermediate and each CA file holding the root alone, or with each certificate file
    /// holding the leaf alone and each CA file bundling root and intermediate. (Each side
    /// verifies the other's leaf, so the intermediate must be sent or trusted both ways.)
    @Test(arguments: [true, false])
    func aSiloSignedByTheIntermediateJoins(intermediateInCertificateFile: Bool) async throws {
        let ca = try Hierarchy()
        let intermediate = try ca.intermediatePEM, root = try ca.rootPEM
        let carried = intermediateInCertificateFile ? intermediate : "", trusted = intermediateInCertificateFile ? root : root + intermediate
        let server = try ca.leaf(commonName: "127.0.0.1", server: true), silo = try ca.leaf(commonName: "silo-chain", server: false)
        let serverIdentity = try Self.load(certificate: server.certificatePEM + carried, key: server.privateKeyPEM, ca: trusted)
        let siloIdentity = try Self.load(certificate: silo.certificatePEM + carried, key: silo.privateKeyPEM, ca: trusted)
        try await withCoordinatorServer(try TransportTests.coordinator(), host: "127.0.0.1", port: 0, security: .mutualTLS(serverIdentity)) { port in
            let info = try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(siloIdentity)) {
                try await $0.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
            }
            #expect(info.clientID == "silo-chain")
            #expect(info.model == Fixtures.syntheticConfig)
        }
    }

    @Test func aSilosCertificateCannotServe() throws {
        let authority = try DevCertificateAuthority()
        #expect(throws: Never.self) { try authority.serverIdentity().checkServerUse(certificateFile: "coordinator/cert.pem") }
        let error = #expect(throws: TransportError.self) {
            try authority.clientIdentity(name: "retail").checkServerUse(certificateFile: "silos/retail/cert.pem")
        }
        #expect(
            error.map { "\($0)" }?.contains("silos/retail/cert.pem ('CN=retail") == true
                && error.map { "\($0)" }?.contains("is not a server certificate") == true, "\(String(describing: error))")
    }
}

/// What makes a certificate unfit to serve an address, and one that only looks like the
/// federation's: each named at load, with what to do.
extension CertificateChainTests {
    /// serve refuses a certificate that does not name the address it listens on (its
    /// `--host`): the message names the file, the names it holds, and the renewal that adds
    /// the address. A wildcard address checks no name; localhost is named by 127.0.0.1 too.
    @Test func aServerCertificateMustNameTheAddressItServes() throws {
        let authority = try DevCertificateAuthority()
        let server = try authority.serverIdentity(hosts: ["fl.example.org", "10.0.0.5"])
        for host in ["fl.example.org", "FL.Example.org", "10.0.0.5", "0.0.0.0", "::"] {
            #expect(throws: Never.self, "\(host)") { try server.checkServerUse(certificateFile: "coordinator/cert.pem", host: host) }
        }
        let error = #expect(throws: TransportError.self) { try server.checkServerUse(certificateFile: "coordinator/cert.pem", host: "10.0.0.7") }
        let message = error.map { "\($0)" } ?? ""
        #expect(
            message.contains("coordinator/cert.pem names fl.example.org, 10.0.0.5, not 10.0.0.7, the address serve listens on (--host)"),
            "\(message)")
        #expect(message.contains("renew --federation DIR --server --coordinator-host fl.example.org 10.0.0.5 10.0.0.7"), "\(message)")
        let local = try authority.serverIdentity()
        for host in ["localhost", "127.0.0.1"] {
            #expect(throws: Never.self, "\(host)") { try local.checkServerUse(certificateFile: "coordinator/cert.pem", host: host) }
        }
    }

    /// `provision` gives every federation's CA the same name: a certificate another CA of the
    /// same name signed passes the look-up by name, and is refused at load by its signature.
    @Test func aCertificateFromAnotherCAOfTheSameNameIsNamedAtLoad() throws {
        let ours = try DevCertificateAuthority(), theirs = try DevCertificateAuthority()
        #expect(ours.certificate.subject == theirs.certificate.subject)
        let stranger = try theirs.clientIdentity(name: "silo-1")
        let error = #expect(throws: TransportError.self) {
            try Self.load(certificate: stranger.certificatePEM, key: stranger.privateKeyPEM, ca: ours.certificatePEM)
        }
        let message = error.map { "\($0)" } ?? ""
        #expect(
            message.contains("/cert.pem ('CN=silo-1,O=FedAttention') names '") && message.contains("as its issuer, but the CA of that name in "),
            "\(message)")
        #expect(message.contains("/ca.pem did not sign it"), "\(message)")
    }
}
