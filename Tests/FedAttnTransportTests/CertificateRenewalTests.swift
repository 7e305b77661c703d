import FedAttnFederation
import FedAttnModel
import FedAttnSimulation
import FedAttnTransport
import Foundation
import SwiftASN1
import Synchronization
import Testing
import X509
import _FedAttnTestSupport

/// Certificates renewed from the federation's CA while it runs: a renewal keeps what the
/// certificate was for and gets a new serial; a coordinator whose files are renewed presents
/// the new certificate to new connections without losing a round; files that do not check
/// are refused and the certificate in use is kept.
struct CertificateRenewalTests {
    /// The three files of `identity` in a fresh folder: cert.pem, key.pem, ca.pem.
    static func files(_ identity: FederationIdentity) throws -> (certificate: String, key: String, ca: String) {
        let folder = try Fixtures.temporaryFolder()
        let files = (certificate: folder + "/cert.pem", key: folder + "/key.pem", ca: folder + "/ca.pem")
        try write(identity.certificatePEM, to: files.certificate)
        try write(identity.privateKeyPEM, to: files.key)
        try write(identity.caCertificatePEM, to: files.ca)
        return files
    }

    /// Writes `text` whole: a new file renamed over the old, as renew does.
    static func write(_ text: String, to file: String) throws {
        try text.write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// Renews the certificate in `files` from `authority`.
    static func renew(
        _ files: (certificate: String, key: String, ca: String), from authority: DevCertificateAuthority, newKey: Bool = false,
        hosts: [String]? = nil, days: Double = 365
    ) throws -> RenewedCertificate {
        try authority.renew(
            certificatePEM: try String(contentsOfFile: files.certificate, encoding: .utf8), certificateFile: files.certificate,
            keyPEM: try String(contentsOfFile: files.key, encoding: .utf8), keyFile: files.key, newKey: newKey, hosts: hosts,
            validity: days * 86_400)
    }

    /// A renewed certificate: a new serial and end, the same subject, use and names, the same
    /// key unless a new one is asked for; never past the CA's end (and it says so); and only
    /// a certificate the CA issued is renewed.
    @Test func aRenewalKeepsWhatTheCertificateWasForWithANewSerial() throws {
        let authority = try DevCertificateAuthority(validity: 400 * 86_400)
        let files = try Self.files(try authority.serverIdentity(hosts: ["fl.example.org", "10.0.0.5"], validity: 10 * 86_400))
        let renewed = try Self.renew(files, from: authority)
        let old = try Certificate(pemEncoded: try String(contentsOfFile: files.certificate, encoding: .utf8))
        let new = try Certificate(pemEncoded: renewed.certificate.certificatePEM)
        #expect(renewed.certificate.serial != renewed.previous.serial)
        #expect(new.subject == old.subject && new.publicKey == old.publicKey && new.issuer == authority.certificate.subject)
        #expect(try new.extensions.extendedKeyUsage == old.extensions.extendedKeyUsage)
        #expect(renewed.names == ["fl.example.org", "10.0.0.5"] && renewed.privateKeyPEM == nil && !renewed.endsWithTheCA)
        let left = renewed.certificate.notValidAfter.timeIntervalSinceNow
        #expect(left > 365 * 86_400 - 60 && left <= 365 * 86_400 + 1, "\(left)")

        // A new key, other names; a span past the CA's end ends with the CA.
        let moved = try Self.renew(files, from: authority, newKey: true, hosts: ["fl2.example.org"], days: 800)
        let key = try Certificate.PrivateKey(pemEncoded: try #require(moved.privateKeyPEM))
        #expect(try Certificate(pemEncoded: moved.certificate.certificatePEM).publicKey == key.publicKey)
        #expect(moved.names == ["fl2.example.org"] && moved.endsWithTheCA)
        #expect(moved.certificate.notValidAfter == authority.certificate.notValidAfter)

        // Another CA's certificate, and a key that is not the certificate's, are refused.
        let stranger = try Self.files(try DevCertificateAuthority().serverIdentity())
        let foreign = #expect(throws: TransportError.self) { try Self.renew(stranger, from: authority) }
        #expect(foreign.map { "\($0)" }?.contains("was not issued by this federation's CA") == true, "\(String(describing: foreign))")
        try Self.write(try authority.clientIdentity(name: "shop").privateKeyPEM, to: files.key)
        let wrongKey = #expect(throws: TransportError.self) { try Self.renew(files, from: authority) }
        #expect(
            wrongKey.map { "\($0)" }?.contains("\(files.key) is not the private key of \(files.certificate)") == true,
            "\(String(describing: wrongKey))")
    }

    /// A silo that made its own key renews with a new request signed by that key: the CA
    /// signs a certificate for the same key and name, with a new serial.
    @Test func aSiloRenewsWithARequestFromItsOwnKey() throws {
        let authority = try DevCertificateAuthority()
        let first = try CertificateRequest(siloName: "news")
        let issued = try authority.sign(requestPEM: first.requestPEM, file: "news.csr", validity: 86_400)
        let again = try CertificateRequest(siloName: "news", privateKeyPEM: first.privateKeyPEM, keyFile: "news/key.pem")
        #expect(again.privateKeyPEM == first.privateKeyPEM)
        let renewed = try authority.sign(requestPEM: again.requestPEM, file: "news.csr", validity: 86_400)
        #expect(renewed.name == "news" && renewed.serial != issued.serial)
        let publicKey = { (pem: String) throws -> Certificate.PublicKey in try Certificate(pemEncoded: pem).publicKey }
        #expect(try publicKey(renewed.certificatePEM) == publicKey(issued.certificatePEM))
        #expect(throws: TransportError.self) { try CertificateRequest(siloName: "news", privateKeyPEM: "not a key", keyFile: "news/key.pem") }
    }

    /// Renewed files that do not check are refused, once each, naming the file, and the
    /// certificate in use stays: a key not yet replaced, a silo's certificate (not meant for a
    /// server), one that does not name the address served, one of another CA of the same
    /// name, a half-written file. Mended, the renewal is taken, and the report names its serial
    /// and its end.
    @Test func renewedFilesThatDoNotCheckAreRefusedAndTheCertificateInUseKept() throws {
        let authority = try DevCertificateAuthority()
        let files = try Self.files(try authority.serverIdentity())
        let reports = Reports()
        let watched = try IdentityFiles(
            certificateFile: files.certificate, keyFile: files.key, caFile: files.ca, servedHost: "127.0.0.1", report: { reports.add($0) })
        let first = watched.serial
        func refusals() -> [String] { reports.all.filter { $0.contains(" changed but is not used: ") } }
        let renewed = try Self.renew(files, from: authority, newKey: true)
        // The certificate renewed for a new key, the key not yet replaced.
        try Self.write(renewed.certificate.certificatePEM, to: files.certificate)
        #expect(watched.serial == first)
        #expect(watched.serial == first, "the same files are checked once")
        #expect(refusals().count == 1)
        #expect(
            refusals().last?.hasPrefix("certificate \(files.certificate) changed but is not used: \(files.key) is not the private key of") == true,
            "\(refusals())")
        #expect(refusals().last?.contains("the one read before (serial \(first), valid until ") == true, "\(refusals())")
        // A silo's certificate; one not naming 127.0.0.1; another CA's of the same name; half a file.
        let silo = try authority.clientIdentity(name: "shop")
        let elsewhere = try authority.serverIdentity(hosts: ["10.0.0.5"])
        let foreign = try DevCertificateAuthority().serverIdentity()
        let bad: [(identity: FederationIdentity, says: String)] = [
            (silo, "is not a server certificate"), (elsewhere, "names 10.0.0.5, not 127.0.0.1"), (foreign, "did not sign it"),
        ]
        for (index, (identity, says)) in bad.enumerated() {
            try Self.write(identity.privateKeyPEM, to: files.key)
            try Self.write(identity.certificatePEM, to: files.certificate)
            #expect(watched.serial == first)
            #expect(refusals().count == index + 2 && refusals().last?.contains(says) == true, "\(says): \(refusals())")
        }
        try Self.write(String(renewed.certificate.certificatePEM.prefix(200)), to: files.certificate)
        #expect(watched.serial == first)
        #expect(
            refusals().count == bad.count + 2 && refusals().last?.contains("\(files.certificate): not a PEM certificate") == true, "\(refusals())")

        // Mended: the renewed certificate and its new key.
        try Self.write(try #require(renewed.privateKeyPEM), to: files.key)
        try Self.write(renewed.certificate.certificatePEM, to: files.certificate)
        #expect(watched.serial == renewed.certificate.serial)
        #expect(watched.notValidAfter == renewed.certificate.notValidAfter)
        let taken = reports.all.last ?? ""
        #expect(
            taken.hasPrefix(
                "certificate \(files.certificate) reloaded: serial \(renewed.certificate.serial), valid until \(renewed.certificate.notValidAfter.formatted(.iso8601))"
            ), "\(reports.all)")
    }

    /// A coordinator serving certificate A to a federation of two silos over mutual TLS; once
    /// round 1 is published (and while round 2 waits for the silos' training), renewed
    /// certificate B is written over A's files. A new connection is presented B while the
    /// silos carry on over their open connections, and the federation publishes every round
    /// once: nothing is restarted, no round is lost.
    /// A client's renewed files are presented at its next connection, without a restart:
    /// once its old certificate is revoked, a new connection from the same `IdentityFiles` is
    /// still admitted (the old one would be refused at the handshake).
    @Test(.timeLimit(.minutes(5))) func aClientPresentsItsRenewedCertificateAtItsNextConnection() async throws {
        let authority = try DevCertificateAuthority()
        let shop = try authority.clientIdentity(name: "shop")
        let files = try Self.files(shop)
        let reports = Reports()
        let clientFiles = try IdentityFiles(
            certificateFile: files.certificate, keyFile: files.key, caFile: files.ca, report: { reports.add($0) })
        let revoked = (files.certificate as NSString).deletingLastPathComponent + "/revoked.txt"
        try Self.write("", to: revoked)
        let lines = LogLines()
        let membership = try Membership(membersFile: nil, revokedFile: revoked, logger: lines.logger)
        let serialA = try IssuedCertificate(pem: shop.certificatePEM, file: "A").serial
        let coordinator = try TransportTests.coordinator()
        try await withCoordinatorServer(
            coordinator, host: "127.0.0.1", port: 0, security: .mutualTLS(try authority.serverIdentity()), logger: lines.logger,
            membership: membership
        ) { port in
            let join = { @Sendable () async throws -> String in
                try await withFederationLink(host: "127.0.0.1", port: port, security: clientFiles.security, identityFiles: clientFiles) { link in
                    try await link.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000).clientID
                }
            }
            #expect(try await join() == "shop")
            // The first connection is gone before the next one speaks for the same silo.
            await coordinator.waitUntil { $0.connectedClients.isEmpty }
            let b = try Self.renew(files, from: authority)
            try Self.write(b.certificate.certificatePEM, to: files.certificate)
            try Self.write("\(serialA) shop # renewed; the old certificate revoked\n", to: revoked)
            #expect(try await join() == "shop")
            #expect(
                reports.all.contains { $0.hasPrefix("certificate \(files.certificate) reloaded: serial \(b.certificate.serial)") }, "\(reports.all)")
            #expect(!lines.all.contains { $0.contains("(serial \(serialA)) is revoked") }, "A was never presented again: \(lines.all)")
        }
    }

    @Test(.timeLimit(.minutes(5))) func aRenewedCertificateIsServedWithoutLosingARound() async throws {
        let authority = try DevCertificateAuthority()
        let a = try authority.serverIdentity()
        let files = try Self.files(a)
        let reports = Reports()
        let identityFiles = try IdentityFiles(
            certificateFile: files.certificate, keyFile: files.key, caFile: files.ca, servedHost: "127.0.0.1", report: { reports.add($0) })
        let coordinator = try TransportTests.coordinator(rounds: 3, minClients: 2)
        let silos = TransportTests.silos(2)
        // Round 2's training waits until B is in place and seen.
        let renewed = Counter()
        let probe = try authority.clientIdentity(name: "probe")
        try await withCoordinatorServer(
            coordinator, host: "127.0.0.1", port: 0, security: identityFiles.security, identityFiles: identityFiles
        ) { port in
            let serialA = try IssuedCertificate(pem: a.certificatePEM, file: "A").serial
            #expect(try await presentedCertificate(host: "127.0.0.1", port: port, identity: probe).serial == serialA)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for silo in silos {
                    let identity = try authority.clientIdentity(name: silo.name)
                    let work = HeldWork(inner: SiloWork(train: silo.train, test: silo.test), from: 2, until: renewed)
                    group.addTask {
                        try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) { link in
                            try await Participant(work: work).run(link: link, expectedModel: Fixtures.syntheticConfig)
                        }
                    }
                }
                // Round 1 published and evaluated: B is written over A's files (a new key too).
                let first = await coordinator.history(beyond: 0)
                #expect(first.map(\.round) == [1])
                let b = try Self.renew(files, from: authority, newKey: true)
                try Self.write(try #require(b.privateKeyPEM), to: files.key)
                try Self.write(b.certificate.certificatePEM, to: files.certificate)
                let presented = try await presentedCertificate(host: "127.0.0.1", port: port, identity: probe)
                #expect(presented.serial == b.certificate.serial && presented.serial != serialA)
                // Said as the handshake took it.
                #expect(
                    reports.all.contains { $0.hasPrefix("certificate \(files.certificate) reloaded: serial \(b.certificate.serial), valid until ") },
                    "\(reports.all)")
                renewed.increment()
                try await group.waitForAll()
            }
        }
        let history = await coordinator.history
        #expect(history.map(\.round) == [1, 2, 3], "every round once")
        #expect(history.allSatisfy { $0.participants.count == 2 }, "both silos in every round: \(history.map(\.participants))")
    }
}

/// A silo's work whose training waits, from round `from` on, until `until` reaches 1: so a
/// test can act between two rounds while the silos stay connected.
private struct HeldWork: LocalWork {
    let inner: SiloWork
    let from: Int
    let until: Counter

    var trainExamples: Int { inner.trainExamples }
    var heldVersion: String? { inner.heldVersion }

    func train(from global: GlobalModel, plan: LocalTrainingPlan, round: Int, progress: @escaping @Sendable (Int, Int) -> Void) async throws
        -> LocalUpdate
    {
        if round >= from { await until.reach(1) }
        return try await inner.train(from: global, plan: plan, round: round, progress: progress)
    }

    func evaluate(_ global: GlobalModel) async throws -> EvaluationReport { try await inner.evaluate(global) }
}

/// What `IdentityFiles` reported, in order, as text.
private final class Reports: Sendable {
    private let changes = Mutex<[String]>([])

    func add(_ change: IdentityFiles.Change) { changes.withLock { $0.append("\(change)") } }
    var all: [String] { changes.withLock { $0 } }
}
