import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

/// The real shape: provision, a coordinator and three clients as separate processes over
/// mutual TLS on 127.0.0.1. Every process started here is stopped here.
struct FederationProcessTests {
    static let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    static let client = folder.appendingPathComponent("fedattn-client").path
    static let coordinator = folder.appendingPathComponent("fedattn-coordinator").path

    @Test func theLoadGeneratorRunsRoundsWhileEveryBombIsRefused() async throws {
        let result = try ProcessRunner.run(
            Self.coordinator, ["bench", "--clients", "4", "--rounds", "2", "--items", "2000", "--bombs", "2", "--json"])
        try #require(result.status == 0, "\(result.standardError)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(json["refused"] as? Int == 0)
        #expect(json["rounds"] as? Int == 2)
        #expect(json["updates_aggregated"] as? Int == 8)
        #expect(json["bombs_sent"] as? Int == 4)
        #expect(json["bombs_refused"] as? Int == 4)
        #expect((json["coordinator_peak_rss_bytes"] as? Int ?? 0) > 10_000_000)
    }

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
                "--ca", fed + "/coordinator/ca.pem", "--state", work + "/state", "--rounds", "2", "--min-clients", "3", "--exit-when-done",
            ])
        let port = try #require(try await server.waitFor("listening on 127\\.0\\.0\\.1:([0-9]+)"), "\(server.standardError)")

        let data = Fixtures.movieLens("silos/iid-10")
        let clients = try silos.enumerated().map { i, name in
            try BackgroundProcess(
                Self.client,
                [
                    "join", "--coordinator", "127.0.0.1:\(port)", "--cert", "\(fed)/silos/\(name)/cert.pem", "--key", "\(fed)/silos/\(name)/key.pem",
                    "--ca", "\(fed)/silos/\(name)/ca.pem", "--data", "\(data)/silo-0\(i).csv",
                ] + (i == 0 ? ["--model-out", work + "/kept.safetensors"] : []))
        }
        for client in clients {
            #expect(try await client.waitForExit() == 0, "\(client.standardError)")
            #expect(client.standardError.contains("federation done"))
        }
        #expect(clients[0].standardError.contains("the kept model"), "\(clients[0].standardError)")
        #expect(try await server.waitForExit() == 0, "\(server.standardError)")
        let log = server.standardError
        #expect(log.contains("round 1: 3 clients") && log.contains("round 2: 3 clients"))
        for silo in silos { #expect(log.contains("\(silo) joined ("), "no join line for \(silo)") }
        #expect(log.contains("of 3 needed connected") && log.contains("round 1: training on 3 of 3 connected clients"))
        let state = try FileManager.default.contentsOfDirectory(atPath: work + "/state").sorted()
        #expect(state == ["best.safetensors", "history.sqlite", "lock", "round-001.safetensors", "round-002.safetensors", "settings.json"])
        // The most-popular baseline: the three silos' item counts pooled, scored by each on its
        // own test users, beside the rounds in the history (table and JSON).
        let history = try ProcessRunner.run(Self.coordinator, ["history", "--state", work + "/state", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(history.standardOutput.utf8)) as? [String: Any])
        let popularity = try #require(object["popularity"] as? [String: Any], "\(history.standardOutput)")
        #expect(popularity["status"] as? String == "pooled" && popularity["scored_by"] as? [String] == silos.sorted(), "\(popularity)")
        #expect((popularity["hr_at_10"] as? Double).map { $0 > 0 && $0 < 1 } == true, "\(popularity)")
        let table = try ProcessRunner.run(Self.coordinator, ["history", "--state", work + "/state"]).standardOutput
        #expect(table.contains("most popular items (counts summed over 3 silos, scored by 3 silos): HR@10 0."), "\(table)")
        #expect(
            clients[1].standardError.contains(
                "the most popular items (counts pooled over the silos) on this silo: HR@10 / NDCG@10 / Recall@20 / NDCG@20 0."),
            "\(clients[1].standardError)")
        // The round kept by the silos' validation splits is one of the two.
        let best = try Data(contentsOf: URL(fileURLWithPath: work + "/state/best.safetensors"))
        #expect(try ["round-001", "round-002"].contains { try Data(contentsOf: URL(fileURLWithPath: work + "/state/\($0).safetensors")) == best })
        // The silo that asked for it left with the kept model, value for value.
        let kept = try ModelFile.load(from: work + "/kept.safetensors")
        #expect(kept.parameters == (try ModelFile.load(from: work + "/state/best.safetensors")).parameters)
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

struct CoordinatorRestartTests {
    @Test func aKilledCoordinatorResumesWithoutLosingOrRepeatingARound() async throws {
        let work = try Fixtures.temporaryFolder()
        let fed = work + "/fed", state = work + "/state"
        // Rounds take a tenth of a second here; 30 leave the kill below seconds to land
        // mid-run even when a loaded machine is slow to show the test the coordinator's log.
        let totalRounds = 30
        let provision = try ProcessRunner.run(
            FederationProcessTests.coordinator, ["provision", "--out", fed, "--coordinator-host", "127.0.0.1", "--silo", "a", "b", "c"])
        try #require(provision.status == 0, "\(provision.standardError)")
        let port = try Fixtures.freePort()
        let serve = [
            "serve", "--host", "127.0.0.1", "--port", "\(port)", "--cert", fed + "/coordinator/cert.pem", "--key", fed + "/coordinator/key.pem",
            "--ca", fed + "/coordinator/ca.pem", "--state", state, "--rounds", "\(totalRounds)", "--min-clients", "3", "--exit-when-done",
            // BENCHMARK.md's client settings: at the command line's faster ones, three small silos
            // overfit within 30 rounds, and the check below is that the resumed run still learns.
            "--learning-rate", "0.001", "--batch-size", "256",
        ]
        var server: BackgroundProcess? = try BackgroundProcess(FederationProcessTests.coordinator, serve)
        try #require(try await server?.waitFor("listening on") != nil, "\(server?.standardError ?? "")")
        let data = Fixtures.movieLens("silos/iid-10")
        let clients = try ["a", "b", "c"].enumerated().map { i, name in
            try BackgroundProcess(
                FederationProcessTests.client,
                [
                    "join", "--coordinator", "127.0.0.1:\(port)", "--cert", "\(fed)/silos/\(name)/cert.pem", "--key", "\(fed)/silos/\(name)/key.pem",
                    "--ca", "\(fed)/silos/\(name)/ca.pem", "--data", "\(data)/silo-0\(i).csv", "--retry-for", "60",
                ])
        }
        // SIGKILL mid-run, once round 1 is on record, and start it again on the same folder.
        try #require(try await server?.waitFor("round 1: 3 clients") != nil, "\(server?.standardError ?? "")")
        server?.kill()
        server = nil
        try #require(
            !clients.contains { $0.standardError.contains("federation done") }, "killed after the run had ended: nothing was left to resume")
        // Down until every client has needed it and said so (restarted after a fixed pause, a
        // client still training, as on a loaded machine, never saw it down); each then retries
        // with backoff until it is back.
        for client in clients {
            try #require(try await client.waitFor("coordinator unreachable") != nil, "\(client.standardError)")
        }
        let restarted = try BackgroundProcess(FederationProcessTests.coordinator, serve)
        #expect(try await restarted.waitFor("resuming from .* round ([0-9]+) is the last published") != nil, "\(restarted.standardError)")
        for client in clients {
            #expect(try await client.waitForExit() == 0, "\(client.standardError)")
        }
        #expect(try await restarted.waitForExit() == 0, "\(restarted.standardError)")

        let history = try ProcessRunner.run(FederationProcessTests.coordinator, ["history", "--state", state, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(history.standardOutput.utf8)) as? [String: Any])
        let rounds = try #require(object["rounds"] as? [[String: Any]])
        #expect(rounds.compactMap { $0["round"] as? Int } == Array(1...totalRounds))
        #expect(rounds.allSatisfy { $0["evaluated"] as? Bool == true })
        let aucs = rounds.compactMap { $0["test_auc"] as? Double }
        #expect(aucs.count == totalRounds && aucs[totalRounds - 1] > aucs[0])
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: state).filter { $0.hasPrefix("round-") && $0.hasSuffix(".safetensors") }.count
                == totalRounds)
        #expect(FileManager.default.fileExists(atPath: state + "/best.safetensors"))
        // The state folder's report: every round, the kept one marked, serve's settings.
        let page = state + "/../report.html"
        let report = try ProcessRunner.run(FederationProcessTests.coordinator, ["report", "--state", state, "--out", page])
        #expect(report.status == 0 && report.standardOutput.contains("\(totalRounds) rounds"), "\(report.standardError)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("<th>server rule</th>") && html.contains("<figure id=\"auc\">"))
        #expect(html.components(separatedBy: "<tr").count - 1 >= totalRounds + 1)

        // Started once more on the finished folder with --exit-when-done, it says so and exits
        // at once, without listening; started with another rule than the run's, it warns that
        // the rule changed.
        let again = try BackgroundProcess(FederationProcessTests.coordinator, serve + ["--strategy", "fedprox"])
        #expect(try await again.waitForExit() == 0, "\(again.standardError)")
        #expect(again.standardError.contains("round \(totalRounds) is the last published (evaluated)"))
        #expect(
            again.standardError.contains("\(state) holds a complete federation (\(totalRounds) rounds, round ")
                && again.standardError.contains("--exit-when-done: exiting without serving it"), "\(again.standardError)")
        #expect(!again.standardError.contains("listening on"), "\(again.standardError)")
        #expect(
            again.standardError.contains("server rule was 'fednova' in the run that published round \(totalRounds)"),
            "\(again.standardError)")
    }
}
