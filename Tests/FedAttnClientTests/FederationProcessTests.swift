import Foundation
import Testing
import _FedAttnTestSupport

/// The real shape: provision, a coordinator and three clients as separate processes over
/// mutual TLS on 127.0.0.1. Every process started here is stopped here.
struct FederationProcessTests {
    static let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    static let client = folder.appendingPathComponent("fedattn-client").path
    static let coordinator = folder.appendingPathComponent("fedattn-coordinator").path

    @Test func provisionedSilosFederateOverMutualTLS() async throws {
        let work = try Fixtures.temporaryFolder()
        let silos = ["shop", "video", "news"]
        let provision = try ProcessRunner.run(
            Self.coordinator, ["provision", "--out", work + "/fed", "--coordinator-host", "127.0.0.1", "--silo"] + silos)
        try #require(provision.status == 0, "\(provision.standardError)")
        let keyMode = try FileManager.default.attributesOfItem(atPath: work + "/fed/silos/shop/key.pem")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        #expect(
            try String(contentsOfFile: work + "/fed/silos/news/join.sh", encoding: .utf8).contains("fedattn-client join --coordinator 127.0.0.1:"))

        let fed = work + "/fed"
        let server = try BackgroundProcess(
            Self.coordinator,
            [
                "serve", "--host", "127.0.0.1", "--port", "0", "--cert", fed + "/coordinator/cert.pem", "--key", fed + "/coordinator/key.pem",
                "--ca", fed + "/coordinator/ca.pem", "--state", work + "/state", "--rounds", "2", "--min-clients", "3",
            ])
        let port = try #require(try await server.waitFor("listening on 127\\.0\\.0\\.1:([0-9]+)"), "\(server.standardError)")

        let data = Fixtures.movieLens("silos/iid-10")
        let clients = try silos.enumerated().map { i, name in
            try BackgroundProcess(
                Self.client,
                [
                    "join", "--coordinator", "127.0.0.1:\(port)", "--cert", "\(fed)/silos/\(name)/cert.pem", "--key", "\(fed)/silos/\(name)/key.pem",
                    "--ca", "\(fed)/silos/\(name)/ca.pem", "--data", "\(data)/silo-0\(i).csv",
                ])
        }
        for client in clients {
            #expect(try await client.waitForExit() == 0, "\(client.standardError)")
            #expect(client.standardError.contains("federation done"))
        }
        #expect(try await server.waitForExit() == 0, "\(server.standardError)")
        let log = server.standardError
        #expect(log.contains("round 1: 3 clients") && log.contains("round 2: 3 clients"))
        let state = try FileManager.default.contentsOfDirectory(atPath: work + "/state").sorted()
        #expect(state == ["round-001.safetensors", "round-002.safetensors"])
        // The published model improved the pooled AUC the clients reported.
        let aucs = log.split(separator: "\n").compactMap { line in line.range(of: "test AUC ").map { Double(line[$0.upperBound...].prefix(6)) } }
            .compactMap { $0 }
        #expect(aucs.count == 2 && aucs[1] > aucs[0])
        // The silo's log says what it did, never what its data holds.
        #expect(!clients[0].standardError.contains("186,"))
    }

    @Test func plaintextIsRefusedOnANonLoopbackAddress() throws {
        let result = try ProcessRunner.run(Self.coordinator, ["serve", "--host", "0.0.0.0", "--insecure", "--state", try Fixtures.temporaryFolder()])
        #expect(result.status != 0)
        #expect(result.standardError.contains("plaintext is refused on 0.0.0.0"))
    }
}
