import FedAttnFederation
import FedAttnTransport
import Foundation
import Testing
import _FedAttnTestSupport

/// The certificates' life cycle with the built executables: provision's lifetimes (a CA of
/// ten years, certificates of one, none past the CA), renewal from the federation's CA (a
/// provisioned silo's kit, the coordinator's own, a silo that made its own key), and what
/// serve refuses before it listens: a certificate that does not name its address, a wrong
/// value in its --config file.
struct CertificateLifecycleTests {
    static let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    static let coordinator = folder.appendingPathComponent("fedattn-coordinator").path
    static let client = folder.appendingPathComponent("fedattn-client").path
    static let day: TimeInterval = 86_400

    func run(_ arguments: String...) throws -> ProcessResult { try ProcessRunner.run(Self.coordinator, arguments) }

    /// Seconds from now until the certificate in `file` expires.
    func left(_ file: String) throws -> TimeInterval { try IssuedCertificate(file: file).notValidAfter.timeIntervalSinceNow }

    @Test func provisionMakesATenYearCAAndOneYearCertificatesNonePastTheCA() throws {
        let work = try Fixtures.temporaryFolder()
        let fed = work + "/fed"
        let made = try run("provision", "--out", fed, "--coordinator-host", "127.0.0.1", "--silo", "shop")
        try #require(made.status == 0, "\(made.standardError)")
        let ca = try left(fed + "/ca/ca.pem"), leaf = try left(fed + "/silos/shop/cert.pem")
        #expect(ca > 3650 * Self.day - 60 && ca <= 3650 * Self.day + 1, "\(ca)")
        #expect(leaf > 365 * Self.day - 60 && leaf <= 365 * Self.day + 1, "\(leaf)")
        #expect(made.standardOutput.contains("the CA is valid until "), "\(made.standardOutput)")

        // Certificates asked to outlive the CA end with it, and provision says so.
        let short = try run("provision", "--out", work + "/short", "--coordinator-host", "127.0.0.1", "--silo", "shop", "--ca-days", "30")
        try #require(short.status == 0, "\(short.standardError)")
        #expect(short.standardOutput.contains("--days 365 would outlive the CA: they end with it"), "\(short.standardOutput)")
        let shortCA = try IssuedCertificate(file: work + "/short/ca/ca.pem").notValidAfter
        #expect(try IssuedCertificate(file: work + "/short/silos/shop/cert.pem").notValidAfter == shortCA)
        #expect(try IssuedCertificate(file: work + "/short/coordinator/cert.pem").notValidAfter == shortCA)

        // A federation's CA is made once.
        let adding = try run("provision", "--out", fed, "--silo", "retail", "--ca-days", "100")
        #expect(adding.status != 0 && adding.standardError.contains("--ca-days makes a new federation's CA"), "\(adding.standardError)")
    }

    @Test func certificatesAreRenewedFromTheFederationsCAAndNoneIsRevoked() throws {
        let work = try Fixtures.temporaryFolder()
        let fed = work + "/fed", kit = work + "/fed/silos/shop"
        let made = try run("provision", "--out", fed, "--coordinator-host", "127.0.0.1", "--silo", "shop")
        try #require(made.status == 0, "\(made.standardError)")
        let folder = FederationFolder(fed)

        // A provisioned silo: a new certificate in its kit, for the same key.
        let before = try IssuedCertificate(file: kit + "/cert.pem")
        let key = try Data(contentsOf: URL(fileURLWithPath: kit + "/key.pem"))
        let renewed = try run("renew", "--federation", fed, "--silo", "shop")
        try #require(renewed.status == 0, "\(renewed.standardError)")
        let after = try IssuedCertificate(file: kit + "/cert.pem")
        #expect(after.serial != before.serial && after.name == "shop")
        #expect(try Data(contentsOf: URL(fileURLWithPath: kit + "/key.pem")) == key)
        #expect(renewed.standardOutput.contains("renewed silo 'shop': \(kit)/cert.pem is a new certificate (serial \(after.serial)"))
        #expect(renewed.standardOutput.contains("(serial \(before.serial), valid until "), "\(renewed.standardOutput)")
        #expect(renewed.standardOutput.contains("stays valid until then: renewing revokes nothing"), "\(renewed.standardOutput)")
        #expect(try folder.issuedList()?.serials(of: "shop") == [before.serial, after.serial])
        #expect(try folder.revocationList()?.entries.isEmpty == true)

        // --new-key: a new key, readable by its owner only.
        let keyed = try run("renew", "--federation", fed, "--silo", "shop", "--new-key")
        try #require(keyed.status == 0, "\(keyed.standardError)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: kit + "/key.pem")) != key)
        #expect(try FileManager.default.attributesOfItem(atPath: kit + "/key.pem")[.posixPermissions] as? Int == 0o600)
        #expect(!FileManager.default.fileExists(atPath: kit + "/key.pem.renewing"))

        // The coordinator's own, for the names it had.
        let server = try run("renew", "--federation", fed, "--server")
        try #require(server.status == 0, "\(server.standardError)")
        #expect(server.standardOutput.contains(") for 127.0.0.1"), "\(server.standardOutput)")

        // A silo that made its own key: a first request signed; a second signed only as a
        // renewal, from the same key.
        let silo = work + "/news"
        let requested = try ProcessRunner.run(Self.client, ["request-certificate", "--name", "news", "--out", silo])
        try #require(requested.status == 0, "\(requested.standardError)")
        let signed = try run("sign", "--federation", fed, "--csr", silo + "/news.csr", "--out", silo + "/cert.pem")
        try #require(signed.status == 0, "\(signed.standardError)")
        let newsKey = try Data(contentsOf: URL(fileURLWithPath: silo + "/key.pem"))
        let again = try ProcessRunner.run(Self.client, ["request-certificate", "--name", "news", "--out", silo])
        #expect(again.status != 0 && again.standardError.contains("to renew its certificate with it, give --renew"), "\(again.standardError)")
        let request = try ProcessRunner.run(Self.client, ["request-certificate", "--name", "news", "--out", silo, "--renew"])
        try #require(request.status == 0, "\(request.standardError)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: silo + "/key.pem")) == newsKey)
        let unasked = try run("sign", "--federation", fed, "--csr", silo + "/news.csr", "--out", silo + "/renewed.pem")
        #expect(unasked.status != 0 && unasked.standardError.contains("to renew its certificate, give --renew"), "\(unasked.standardError)")
        let resigned = try run("sign", "--renew", "--federation", fed, "--csr", silo + "/news.csr", "--out", silo + "/renewed.pem")
        try #require(resigned.status == 0, "\(resigned.standardError)")
        #expect(resigned.standardOutput.contains("renewed silo 'news'"), "\(resigned.standardOutput)")
        #expect(resigned.standardOutput.contains("stay valid until they expire: renewing revokes nothing"), "\(resigned.standardOutput)")
        #expect(try IssuedCertificate(file: silo + "/renewed.pem").serial != IssuedCertificate(file: silo + "/cert.pem").serial)
        // Its kit is not here: renew --silo says how it renews instead.
        let noKit = try run("renew", "--federation", fed, "--silo", "news")
        #expect(noKit.status != 0 && noKit.standardError.contains("request-certificate --renew"), "\(noKit.standardError)")
    }

    @Test func serveRefusesACertificateNotNamingItsAddressAndAWrongValueInItsConfig() throws {
        let work = try Fixtures.temporaryFolder()
        let fed = work + "/fed"
        let made = try run("provision", "--out", fed, "--coordinator-host", "127.0.0.1", "--silo", "shop")
        try #require(made.status == 0, "\(made.standardError)")
        let served = try run(
            "serve", "--host", "::1", "--port", "0", "--cert", fed + "/coordinator/cert.pem", "--key", fed + "/coordinator/key.pem", "--ca",
            fed + "/coordinator/ca.pem", "--state", work + "/state")
        #expect(served.status != 0)
        #expect(
            served.standardError.contains("\(fed)/coordinator/cert.pem names 127.0.0.1, not ::1, the address serve listens on (--host)"),
            "\(served.standardError)")
        #expect(served.standardError.contains("--server --coordinator-host 127.0.0.1 ::1"), "\(served.standardError)")

        let config = work + "/serve.json"
        try #"{"port": 70000, "state": "state", "rounds": 1}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let port = try run("serve", "--insecure", "--config", config)
        #expect(port.status != 0)
        #expect(port.standardError.contains("\(config): port 70000 is not a port: give 0...65535"), "\(port.standardError)")
        try #"{"insecure": true, "state": "state"}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let insecure = try run("serve", "--config", config)
        #expect(insecure.status != 0)
        #expect(insecure.standardError.contains("\(config): 'insecure' is not read from a config file"), "\(insecure.standardError)")
    }
}
