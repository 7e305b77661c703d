import Crypto
import FedAttnFederation
import FedAttnTransport
import Foundation
import GRPCCore
import SwiftASN1
import Testing
import X509
import _FedAttnTestSupport

/// Membership that changes while the federation runs, over real mutual TLS on 127.0.0.1: a
/// silo added with the federation's existing CA, or from its own key and request, joins; the
/// coordinator admits only the silos its allow-list names, re-reading it without a restart;
/// a revoked certificate is refused at the handshake, and a silo removed while connected at
/// its next call. Every server a test starts stops when the test's scope ends.
struct MembershipTests {
    /// Joins the coordinator at `port` as `identity`; what the join said (the client's name).
    static func join(_ port: Int, as identity: FederationIdentity) async throws -> String {
        try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) {
            try await $0.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        }.clientID
    }

    /// Writes `text` whole to `file` (a new file renamed over the old, as the commands do).
    static func write(_ text: String, to file: String) throws {
        try text.write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// The CA read back from the files provision wrote signs a silo added later, and that
    /// silo joins a coordinator whose certificate the CA signed at the start.
    @Test func aSiloAddedWithTheFederationsOwnCAJoins() async throws {
        let authority = try DevCertificateAuthority()
        let folder = try Fixtures.temporaryFolder()
        try Self.write(authority.certificatePEM, to: folder + "/ca.pem")
        try Self.write(authority.privateKeyPEM, to: folder + "/ca.key")
        let loaded = try DevCertificateAuthority(certificateFile: folder + "/ca.pem", keyFile: folder + "/ca.key")
        #expect(loaded.certificate == authority.certificate)
        let retail = try loaded.clientIdentity(name: "retail", validity: 400 * 86_400)
        // Never valid past the CA that signed it.
        #expect(try IssuedCertificate(pem: retail.certificatePEM, file: "retail").notValidAfter <= authority.certificate.notValidAfter)
        try await withCoordinatorServer(
            try TransportTests.coordinator(), host: "127.0.0.1", port: 0, security: .mutualTLS(try authority.serverIdentity())
        ) { port in
            let name = try await Self.join(port, as: retail)
            #expect(name == "retail")
        }

        // Another CA's key is not this CA's.
        try Self.write(try DevCertificateAuthority(name: "Other CA").privateKeyPEM, to: folder + "/other.key")
        let error = #expect(throws: TransportError.self) {
            try DevCertificateAuthority(certificateFile: folder + "/ca.pem", keyFile: folder + "/other.key")
        }
        #expect(error?.description == "certificate: \(folder)/other.key is not the private key of \(folder)/ca.pem")
    }

    /// The silo makes its key and request; the CA signs the request (the key never leaves the
    /// silo); the certificate is for client authentication only, and it joins.
    @Test func aSiloThatMakesItsOwnKeyIsSignedAndJoins() async throws {
        let authority = try DevCertificateAuthority()
        let request = try CertificateRequest(siloName: "news")
        #expect(request.requestPEM.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----"))
        #expect(!request.requestPEM.contains("PRIVATE KEY"))
        let issued = try authority.sign(requestPEM: request.requestPEM, file: "news.csr", validity: 86_400)
        #expect(issued.name == "news")
        let certificate = try Certificate(pemEncoded: issued.certificatePEM)
        let usage = try #require(try certificate.extensions.extendedKeyUsage)
        #expect(usage.contains(.clientAuth) && !usage.contains(.serverAuth))
        #expect(certificate.issuer == authority.certificate.subject)
        let identity = FederationIdentity(
            certificatePEM: issued.certificatePEM, privateKeyPEM: request.privateKeyPEM, caCertificatePEM: authority.certificatePEM)
        try await withCoordinatorServer(
            try TransportTests.coordinator(), host: "127.0.0.1", port: 0, security: .mutualTLS(try authority.serverIdentity())
        ) { port in
            let name = try await Self.join(port, as: identity)
            #expect(name == "news")
        }
    }

    /// A request whose signature its key did not make (altered on the way), one whose common
    /// name is not a silo name, and a file that is not a request are refused, naming the file.
    @Test func anAlteredOrMisnamedRequestIsRefused() throws {
        let authority = try DevCertificateAuthority()
        func refusal(_ pem: String) -> String {
            let error = #expect(throws: TransportError.self) { try authority.sign(requestPEM: pem, file: "in.csr", validity: 86_400) }
            return error?.description ?? ""
        }
        func subject(_ name: String) throws -> DistinguishedName {
            try DistinguishedName {
                OrganizationName("FedAttention")
                CommonName(name)
            }
        }
        let honest = try CertificateSigningRequest(
            version: .v1, subject: try subject("news"), privateKey: .init(P256.Signing.PrivateKey()), attributes: .init())
        // Another key in place of the one that signed: what an attacker swapping keys sends.
        let swapped = try CertificateSigningRequest(
            version: .v1, subject: try subject("news"), publicKey: .init(P256.Signing.PrivateKey().publicKey), attributes: .init(),
            signatureAlgorithm: honest.signatureAlgorithm, signature: honest.signature)
        let altered = refusal(try swapped.serializeAsPEM().pemString)
        #expect(altered.contains("in.csr: its signature was not made by the key it holds"), "\(altered)")

        let misnamed = try CertificateSigningRequest(
            version: .v1, subject: try subject("Shop"), privateKey: .init(P256.Signing.PrivateKey()), attributes: .init())
        let badName = refusal(try misnamed.serializeAsPEM().pemString)
        #expect(badName.contains("in.csr: the request's common name \"Shop\" is not a silo name"), "\(badName)")

        let notARequest = refusal(authority.certificatePEM)
        #expect(notARequest.contains("in.csr: not a PEM certificate signing request"), "\(notARequest)")
        #expect(throws: TransportError.self) { try CertificateRequest(siloName: "../news") }
    }

    /// A silo the allow-list does not name is refused at Join with PERMISSION_DENIED naming it
    /// and the list, and the refusal is logged with its name; listed (the file rewritten), it
    /// is admitted by the same coordinator, which re-read the list.
    @Test func anUnlistedSiloIsRefusedThenAdmittedOnceListedWithoutARestart() async throws {
        let folder = try Fixtures.temporaryFolder()
        let members = folder + "/members.txt"
        try Self.write("shop\n", to: members)
        let lines = LogLines()
        let membership = try Membership(membersFile: members, revokedFile: folder + "/revoked.txt", logger: lines.logger)
        let authority = try DevCertificateAuthority()
        let retail = try authority.clientIdentity(name: "retail")
        try await withCoordinatorServer(
            try TransportTests.coordinator(), host: "127.0.0.1", port: 0, security: .mutualTLS(try authority.serverIdentity()),
            logger: lines.logger, membership: membership
        ) { port in
            let error = await #expect(throws: RPCError.self) { try await Self.join(port, as: retail) }
            #expect(error?.code == .permissionDenied)
            #expect(error?.message == "silo 'retail' is not a member of this federation (\(members))")
            #expect(
                await lines.waitFor {
                    $0.hasPrefix("refused Join from 'retail' (ipv4:127.0.0.1:") && $0.contains("silo 'retail' is not a member of this federation")
                }, "\(lines.all)")

            try Self.write("shop\nretail\n", to: members)
            let name = try await Self.join(port, as: retail)
            #expect(name == "retail")
            #expect(lines.all.contains("\(members) re-read: 2 silos admitted (added 'retail')"), "\(lines.all)")
        }
    }

    /// A certificate whose serial the revocation list holds is refused as its TLS handshake
    /// completes (no call reaches the service), and the line names the silo and the serial;
    /// another silo's certificate is admitted as before.
    @Test func aRevokedCertificateIsRefusedAtTheHandshake() async throws {
        let folder = try Fixtures.temporaryFolder()
        let revoked = folder + "/revoked.txt"
        let authority = try DevCertificateAuthority()
        let shop = try authority.clientIdentity(name: "shop"), video = try authority.clientIdentity(name: "video")
        let serial = try IssuedCertificate(pem: shop.certificatePEM, file: "shop/cert.pem").serial
        try Self.write("\(serial) shop # removed\n", to: revoked)
        let lines = LogLines()
        let membership = try Membership(membersFile: nil, revokedFile: revoked, logger: lines.logger)
        try await withCoordinatorServer(
            try TransportTests.coordinator(), host: "127.0.0.1", port: 0, security: .mutualTLS(try authority.serverIdentity()),
            logger: lines.logger, membership: membership
        ) { port in
            let error = await #expect(throws: RPCError.self) { try await Self.join(port, as: shop) }
            #expect(error?.code == .unavailable)
            #expect(
                await lines.waitFor {
                    $0.hasPrefix("refused connection from ipv4:127.0.0.1:")
                        && $0.contains("the certificate presented by silo 'shop' (serial \(serial)) is revoked (\(revoked))")
                }, "\(lines.all)")
            let name = try await Self.join(port, as: video)
            #expect(name == "video")
        }
        #expect(!lines.all.contains { $0.contains("refused Join from 'shop'") }, "no call of it reached the service: \(lines.all)")
    }

    /// `remove` (the folder's edit: off the list, its certificate revoked) while the silo is
    /// connected: its next call is refused with PERMISSION_DENIED naming it, it leaves the
    /// federation, and a new connection of it is refused at the handshake.
    @Test func removingAConnectedSiloRefusesItsNextCall() async throws {
        let folder = FederationFolder(try Fixtures.temporaryFolder())
        let authority = try DevCertificateAuthority()
        let shop = try authority.clientIdentity(name: "shop")
        let certificate = try IssuedCertificate(pem: shop.certificatePEM, file: "shop/cert.pem")
        try folder.prepareLists()
        try folder.admit("shop", serial: certificate.serial, validUntil: certificate.notValidAfter, how: "sign")
        let lines = LogLines()
        let membership = try Membership(membersFile: folder.membersFile, revokedFile: folder.revokedFile, logger: lines.logger)
        // Two clients needed: no round starts, so the silo only asks for its next task.
        let coordinator = try TransportTests.coordinator(minClients: 2)
        try await withCoordinatorServer(
            coordinator, host: "127.0.0.1", port: 0, security: .mutualTLS(try authority.serverIdentity()), logger: lines.logger,
            membership: membership
        ) { port in
            try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(shop)) { link in
                _ = try await link.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
                #expect(await coordinator.connectedClients == ["shop"])
                let removal = try folder.remove("shop")
                #expect(removal == FederationFolder.Removal(wasListed: true, revoked: [certificate.serial], alreadyRevoked: []))
                let error = await #expect(throws: RPCError.self) { try await link.nextTask(lastRound: 0) }
                #expect(error?.code == .permissionDenied)
                #expect(
                    error?.message == "the certificate presented by silo 'shop' (serial \(certificate.serial)) is revoked (\(folder.revokedFile))")
                await coordinator.waitUntil { $0.connectedClients.isEmpty }
            }
            #expect(
                lines.all.contains { $0.hasPrefix("refused NextTask from 'shop' (ipv4:127.0.0.1:") && $0.contains("is revoked") }, "\(lines.all)")
            let again = await #expect(throws: RPCError.self) { try await Self.join(port, as: shop) }
            #expect(again?.code == .unavailable)
        }
    }
}
