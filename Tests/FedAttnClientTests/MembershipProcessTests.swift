import FedAttnFederation
import Foundation
import Testing
import _FedAttnTestSupport

/// Membership changed while the coordinator runs, with the built executables, over mutual
/// TLS on 127.0.0.1: a silo added to the existing federation, one that made its own key and
/// request, and the removal of a connected silo in one command. Every process started here
/// is stopped here.
struct MembershipProcessTests {
    static let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    static let coordinator = folder.appendingPathComponent("fedattn-coordinator").path
    static let client = folder.appendingPathComponent("fedattn-client").path

    @Test func silosAreAddedSignedAndRemovedWhileTheCoordinatorRuns() async throws {
        let work = try Fixtures.temporaryFolder()
        let fed = work + "/fed"
        func run(_ arguments: String...) throws -> ProcessResult { try ProcessRunner.run(Self.coordinator, arguments) }
        let made = try run("provision", "--out", fed, "--coordinator-host", "127.0.0.1", "--silo", "shop")
        try #require(made.status == 0, "\(made.standardError)")
        let ca = try Data(contentsOf: URL(fileURLWithPath: fed + "/ca/ca.pem"))

        // A federation inside the federation's folder would have a CA of its own: refused.
        let inside = try run("provision", "--out", fed + "/silos", "--silo", "retail")
        #expect(inside.status != 0)
        #expect(inside.standardError.contains("\(fed)/silos lies inside the federation in \(fed)"), "\(inside.standardError)")
        #expect(!FileManager.default.fileExists(atPath: fed + "/silos/ca"))

        // Added to the federation: a kit signed by its own CA, dialling its coordinator, listed.
        let added = try run("provision", "--out", fed, "--silo", "retail")
        try #require(added.status == 0, "\(added.standardError)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: fed + "/ca/ca.pem")) == ca, "the federation's CA, not a new one")
        #expect(try String(contentsOfFile: fed + "/silos/retail/join.sh", encoding: .utf8).contains("--coordinator 127.0.0.1:7443 "))
        let again = try run("provision", "--out", fed, "--silo", "retail")
        #expect(again.status != 0)
        #expect(again.standardError.contains("--silo 'retail' is a member of \(fed) already"), "\(again.standardError)")

        // A silo that makes its own key: its request is signed, and its key never enters the
        // federation's folder.
        let silo = work + "/news"
        let requested = try ProcessRunner.run(Self.client, ["request-certificate", "--name", "news", "--out", silo])
        try #require(requested.status == 0, "\(requested.standardError)")
        let keyMode = try FileManager.default.attributesOfItem(atPath: silo + "/key.pem")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let signed = try run("sign", "--federation", fed, "--csr", silo + "/news.csr", "--out", silo + "/cert.pem")
        try #require(signed.status == 0, "\(signed.standardError)")
        #expect(signed.standardOutput.contains("signed silo 'news'"), "\(signed.standardOutput)")
        try FileManager.default.copyItem(atPath: fed + "/ca/ca.pem", toPath: silo + "/ca.pem")
        let key = try Data(contentsOf: URL(fileURLWithPath: silo + "/key.pem"))
        for path in FileManager.default.subpaths(atPath: fed) ?? [] {
            #expect((try? Data(contentsOf: URL(fileURLWithPath: fed + "/" + path))) != key, "the silo's key is in \(path)")
        }
        let members = try MemberList(text: try String(contentsOfFile: fed + "/members.txt", encoding: .utf8), file: "members.txt")
        #expect(members.names == ["shop", "retail", "news"])

        // Served with the allow-list; four clients needed, so the silos only wait for a round.
        let server = try BackgroundProcess(
            Self.coordinator,
            [
                "serve", "--host", "127.0.0.1", "--port", "0", "--cert", fed + "/coordinator/cert.pem", "--key", fed + "/coordinator/key.pem",
                "--ca", fed + "/coordinator/ca.pem", "--members", fed + "/members.txt", "--state", work + "/state", "--min-clients", "4",
            ])
        defer { server.stop() }
        let port = try #require(try await server.waitFor("listening on 127\\.0\\.0\\.1:([0-9]+)"), "\(server.standardError)")
        #expect(server.standardError.contains("membership: only the 3 silos listed in \(fed)/members.txt are admitted"), "\(server.standardError)")
        let data = Fixtures.movieLens("silos/iid-10")
        func join(_ kit: String, data file: String) throws -> BackgroundProcess {
            try BackgroundProcess(
                Self.client,
                [
                    "join", "--coordinator", "127.0.0.1:\(port)", "--cert", kit + "/cert.pem", "--key", kit + "/key.pem", "--ca", kit + "/ca.pem",
                    "--data", file,
                ])
        }
        let retail = try join(fed + "/silos/retail", data: data + "/silo-00.csv")
        defer { retail.stop() }
        let news = try join(silo, data: data + "/silo-01.csv")
        defer { news.stop() }
        try #require(try await server.waitFor("retail joined") != nil, "\(server.standardError)")
        try #require(try await server.waitFor("news joined") != nil, "\(server.standardError)")

        // Removed in one command while connected: its next call is refused, naming it, and it
        // stops; the coordinator carries on without it.
        let removed = try run("remove", "--federation", fed, "--silo", "retail")
        try #require(removed.status == 0, "\(removed.standardError)")
        #expect(
            removed.standardOutput.contains("took 'retail' off \(fed)/members.txt; revoked 1 certificate of it in \(fed)/revoked.txt"),
            "\(removed.standardOutput)")
        let status = try await retail.waitForExit()
        #expect(status != nil && status != 0, "\(retail.standardError)")
        #expect(retail.standardError.contains("the certificate presented by silo 'retail' (serial "), "\(retail.standardError)")
        #expect(
            try await server.waitFor("refused [A-Za-z]+ from 'retail' \\(ipv4:127\\.0\\.0\\.1:[0-9]+\\): .*is revoked") != nil,
            "\(server.standardError)")
        #expect(try await server.waitFor("retail left") != nil, "\(server.standardError)")
        #expect(!server.standardError.contains("news left"), "\(server.standardError)")
    }
}
