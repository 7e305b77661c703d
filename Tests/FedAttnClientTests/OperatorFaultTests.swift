import Foundation
import Testing
import _FedAttnTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What an operator hits when running the executables for real: each gets a first line
/// naming what is wrong and where, never a trap. Every process started here is stopped here.
struct OperatorFaultTests {
    static let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    static let coordinator = folder.appendingPathComponent("fedattn-coordinator").path
    static let client = folder.appendingPathComponent("fedattn-client").path

    /// A plaintext loopback coordinator in the background, and the port it bound.
    static func serve(state: String, host: String = "127.0.0.1", extra: [String] = []) async throws -> (BackgroundProcess, String) {
        let server = try BackgroundProcess(
            coordinator, ["serve", "--insecure", "--host", host, "--port", "0", "--state", state, "--min-clients", "2"] + extra)
        let listening = host.contains(":") ? "listening on \\[::1\\]:([0-9]+)" : "listening on 127\\.0\\.0\\.1:([0-9]+)"
        let port = try #require(try await server.waitFor(listening), "\(server.standardError)")
        return (server, port)
    }

    @Test func aPortOutOfRangeIsAnErrorMessageNotACrash() throws {
        let result = try ProcessRunner.run(Self.coordinator, ["serve", "--insecure", "--port", "70000", "--state", try Fixtures.temporaryFolder()])
        #expect(result.status != 0)
        #expect(result.standardError.contains("--port 70000 is not a port: give 0...65535"), "\(result.standardError)")
        #expect(!result.standardError.contains("Fatal error"))
        let rounds = try ProcessRunner.run(Self.coordinator, ["serve", "--insecure", "--rounds", "0", "--state", try Fixtures.temporaryFolder()])
        #expect(rounds.status != 0 && rounds.standardError.contains("--rounds (rounds) must be at least 1"), "\(rounds.standardError)")
        let quorum = try ProcessRunner.run(Self.coordinator, ["simulate", "--min-clients", "2", "--quorum", "3"])
        #expect(quorum.status != 0 && quorum.standardError.contains("--quorum (quorum) 3 is more than --min-clients 2"), "\(quorum.standardError)")
        let rate = try ProcessRunner.run(Self.coordinator, ["simulate", "--learning-rate=-1"])
        #expect(rate.status != 0 && rate.standardError.contains("--learning-rate (learning_rate) must be a positive number"), "\(rate.standardError)")
        let join = try ProcessRunner.run(Self.client, ["join", "--coordinator", "127.0.0.1:70000", "--insecure", "--name", "a", "--data", "x"])
        #expect(join.standardError.contains("port 70000 is not in 1...65535"), "\(join.standardError)")
    }

    /// The command line trains to rank and keeps the round that ranks best, but for
    /// example-level DP-SGD, where negatives cost AUC and ranked below popularity
    /// (docs/ranking.md): there it trains on labelled rows and keeps by AUC unless told.
    @Test func theDefaultsTrainToRankButForExampleLevelDPSGD() throws {
        func settings(_ flags: [String]) throws -> (page: String, selectBy: String?) {
            let page = try Fixtures.temporaryFolder() + "/report.html"
            let run = try ProcessRunner.run(
                Self.coordinator, ["simulate", "--link", "in-process", "--rounds", "1", "--report", page, "--json"] + flags)
            try #require(run.status == 0, "\(run.standardError)")
            let object = try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any]
            return (try String(contentsOfFile: page, encoding: .utf8), object?["select_by"] as? String)
        }
        let plain = try settings([])
        #expect(plain.selectBy == "ndcg" && plain.page.contains("<th>negatives per click</th><td>16, exponent 0.5</td>"))
        let dp = try settings(["--example-target-epsilon", "8"])
        #expect(dp.selectBy == "auc" && dp.page.contains("<th>negatives per click</th><td>none</td>"))
        let told = try settings(["--example-target-epsilon", "8", "--negatives", "2", "--select-by", "ndcg"])
        #expect(told.selectBy == "ndcg" && told.page.contains("<th>negatives per click</th><td>2, exponent 0.5</td>"))
    }

    @Test func aServerOptimiserSettingThatCannotRunIsNamed() throws {
        let unknown = try ProcessRunner.run(Self.coordinator, ["simulate", "--strategy", "fedadamw"])
        #expect(
            unknown.status != 0
                && unknown.standardError.contains("--strategy (strategy) 'fedadamw' must be one of fednova, fedprox, fedavg, fedavgm"),
            "\(unknown.standardError)")
        let prox = try ProcessRunner.run(Self.coordinator, ["simulate", "--strategy", "fedprox", "--proximal-mu", "0"])
        #expect(
            prox.status != 0 && prox.standardError.contains("--strategy fedprox needs --proximal-mu (proximal_mu) above 0"), "\(prox.standardError)")
        let target = try ProcessRunner.run(Self.coordinator, ["simulate", "--target-epsilon", "2"])
        #expect(
            target.status != 0 && target.standardError.contains("--target-epsilon (target_epsilon) needs --strategy dp-fedavg"),
            "\(target.standardError)")
        let over = try ProcessRunner.run(
            Self.coordinator, ["simulate", "--strategy", "dp-fedavg", "--noise-multiplier", "1", "--epsilon-budget", "2"])
        #expect(over.status != 0 && over.standardError.contains("20 rounds at noise multiplier 1.0 would spend epsilon"), "\(over.standardError)")
        let noiseless = try ProcessRunner.run(Self.coordinator, ["simulate", "--strategy", "dp-fedavg", "--noise-multiplier", "0"])
        #expect(noiseless.status != 0 && noiseless.standardError.contains("without noise there is no privacy"), "\(noiseless.standardError)")
        // Client-level DP wraps a rule that reads the mean alone; not a robust rule, nor FedNova.
        let wrapped = try ProcessRunner.run(Self.coordinator, ["simulate", "--strategy", "krum", "--client-dp"])
        #expect(
            wrapped.status != 0
                && wrapped.standardError.contains(
                    "--client-dp (client_dp) wraps --strategy fedavg, fedprox, fedavgm, fedadam, fedyogi or fedadagrad, not krum"),
            "\(wrapped.standardError)")
        let file = try Fixtures.writeTemporaryFile("federation.json", #"{"strategy": "fedyogi", "server_tau": -1}"#)
        let tau = try ProcessRunner.run(Self.coordinator, ["simulate", "--config", file])
        #expect(
            tau.status != 0 && tau.standardError.contains("--server-tau (server_tau) must be a positive number (flags or \(file))"),
            "\(tau.standardError)")
        // A misspelt key would otherwise run the default: refused, named.
        let typo = try Fixtures.writeTemporaryFile("typo.json", #"{"strategy": "fednova", "server_lr": 0.5}"#)
        let misspelt = try ProcessRunner.run(Self.coordinator, ["simulate", "--config", typo])
        #expect(
            misspelt.status != 0 && misspelt.standardError.contains("\(typo): unknown setting 'server_lr'")
                && misspelt.standardError.contains("server_learning_rate"), "\(misspelt.standardError)")
    }

    @Test func secureAggregationSettingsThatCannotRunAreNamed() throws {
        let krum = try ProcessRunner.run(Self.coordinator, ["simulate", "--secure-aggregation", "--strategy", "krum"])
        #expect(
            krum.status != 0 && krum.standardError.contains("--strategy krum reads each silo's update, which secure aggregation hides"),
            "\(krum.standardError)")
        let bits = try ProcessRunner.run(Self.coordinator, ["simulate", "--secure-aggregation", "--secagg-bits", "40"])
        #expect(bits.status != 0 && bits.standardError.contains("--secagg-bits must be in 8...24, not 40"), "\(bits.standardError)")
        let stray = try ProcessRunner.run(Self.coordinator, ["simulate", "--secagg-threshold", "3"])
        #expect(stray.status != 0 && stray.standardError.contains("--secagg-threshold needs --secure-aggregation"), "\(stray.standardError)")
        let two = try ProcessRunner.run(
            Self.coordinator, ["serve", "--insecure", "--secure-aggregation", "--min-clients", "2", "--state", try Fixtures.temporaryFolder()])
        #expect(two.status != 0 && two.standardError.contains("--secure-aggregation needs --min-clients of 3 or more"), "\(two.standardError)")
        let norm = try ProcessRunner.run(Self.coordinator, ["simulate", "--secure-aggregation", "--max-update-norm", "5"])
        #expect(
            norm.status != 0 && norm.standardError.contains("--max-update-norm cannot be checked under --secure-aggregation"), "\(norm.standardError)"
        )
        let drops = try ProcessRunner.run(Self.coordinator, ["simulate", "--secure-aggregation", "--dropouts", "3"])
        #expect(drops.status != 0 && drops.standardError.contains("--dropouts needs --link in-process"), "\(drops.standardError)")
    }

    @Test func aBusyPortIsNamedWithItsCause() async throws {
        let (first, port) = try await Self.serve(state: try Fixtures.temporaryFolder())
        defer { first.stop() }
        let second = try ProcessRunner.run(
            Self.coordinator, ["serve", "--insecure", "--host", "127.0.0.1", "--port", port, "--state", try Fixtures.temporaryFolder()])
        #expect(second.status != 0)
        #expect(
            second.standardError.contains("cannot listen on 127.0.0.1:\(port): address already in use: another process listens on port \(port)"),
            "\(second.standardError)")
    }

    @Test func anIPv6LoopbackAddressIsServed() async throws {
        let (server, port) = try await Self.serve(state: try Fixtures.temporaryFolder(), host: "::1")
        defer { server.stop() }
        #expect(Int(port) ?? 0 > 0)
    }

    @Test func aHostThatIsNotAnAddressIsNamed() throws {
        let result = try ProcessRunner.run(
            Self.coordinator, ["serve", "--insecure", "--host", "127.0.0.1.5", "--port", "0", "--state", try Fixtures.temporaryFolder()])
        #expect(result.status != 0)
        #expect(result.standardError.contains("--host '127.0.0.1.5' is not an IPv4 or IPv6 address"), "\(result.standardError)")
    }

    @Test func aStateFolderServesOneCoordinatorAtATime() async throws {
        let state = try Fixtures.temporaryFolder()
        let (first, _) = try await Self.serve(state: state)
        defer { first.stop() }
        let second = try ProcessRunner.run(Self.coordinator, ["serve", "--insecure", "--host", "127.0.0.1", "--port", "0", "--state", state])
        #expect(second.status != 0)
        #expect(second.standardError.contains("\(state) is in use by another coordinator (process "), "\(second.standardError)")
        // Once the first has stopped, the folder is free again.
        first.stop()
        let (third, _) = try await Self.serve(state: state)
        third.stop()
    }

    @Test func aKeyThatIsNotTheCertificatesIsNamedAtStart() throws {
        let work = try Fixtures.temporaryFolder()
        let provision = try ProcessRunner.run(
            Self.coordinator, ["provision", "--out", work + "/fed", "--coordinator-host", "127.0.0.1", "--silo", "shop"])
        try #require(provision.status == 0, "\(provision.standardError)")
        let fed = work + "/fed"
        let result = try ProcessRunner.run(
            Self.coordinator,
            [
                "serve", "--host", "127.0.0.1", "--port", "0", "--cert", fed + "/coordinator/cert.pem", "--key", fed + "/silos/shop/key.pem",
                "--ca", fed + "/coordinator/ca.pem", "--state", work + "/state",
            ])
        #expect(result.status != 0)
        #expect(
            result.standardError.contains("\(fed)/silos/shop/key.pem is not the private key of \(fed)/coordinator/cert.pem"),
            "\(result.standardError)")
    }

    @Test func simulateRefusesASiloWithoutTrainingExamplesByName() throws {
        let silos = try Fixtures.temporaryFolder()
        let made = try ProcessRunner.run(
            Self.client,
            ["synthesize", "--out", silos, "--silos", "2", "--users", "100", "--items", "100", "--topics", "4", "--strategies", "3", "--seed", "3"])
        try #require(made.status == 0, "\(made.standardError)")
        // One row per user: every row falls in the per-user test split.
        try "user_id,item_id,timestamp,label\nu1,5,100,1\nu2,7,100,0\n".write(toFile: silos + "/silo-01.csv", atomically: true, encoding: .utf8)
        let result = try ProcessRunner.run(
            Self.coordinator,
            ["simulate", "--silos", silos, "--items", "catalogue:100", "--strategies", "3", "--rounds", "1", "--link", "in-process"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("\(silos)/silo-01.csv: no training examples"), "\(result.standardError)")
    }

    @Test func aStoppedClientLeavesAndIsNamed() async throws {
        let (server, port) = try await Self.serve(state: try Fixtures.temporaryFolder())
        defer { server.stop() }
        let data = Fixtures.movieLens("silos/iid-10") + "/silo-00.csv"
        let client = try BackgroundProcess(
            Self.client, ["join", "--coordinator", "127.0.0.1:\(port)", "--insecure", "--name", "shop", "--data", data])
        #expect(try await server.waitFor("shop joined \\(1 of 2 needed connected\\)") != nil, "\(server.standardError)")
        client.stop()  // SIGTERM, as Ctrl-C or a service manager would
        #expect(try await server.waitFor("shop left \\(0 of 2 needed connected\\)") != nil, "\(server.standardError)")
    }

    @Test func aClientWithoutTLSAgainstATLSCoordinatorStopsAtOnceWithTheCause() async throws {
        let work = try Fixtures.temporaryFolder()
        let provision = try ProcessRunner.run(
            Self.coordinator, ["provision", "--out", work + "/fed", "--coordinator-host", "127.0.0.1", "--silo", "shop"])
        try #require(provision.status == 0, "\(provision.standardError)")
        let fed = work + "/fed"
        let server = try BackgroundProcess(
            Self.coordinator,
            [
                "serve", "--host", "127.0.0.1", "--port", "0", "--cert", fed + "/coordinator/cert.pem", "--key", fed + "/coordinator/key.pem",
                "--ca", fed + "/coordinator/ca.pem", "--state", work + "/state",
            ])
        defer { server.stop() }
        let port = try #require(try await server.waitFor("listening on 127\\.0\\.0\\.1:([0-9]+)"), "\(server.standardError)")
        let data = Fixtures.movieLens("silos/iid-10") + "/silo-00.csv"
        let client = try ProcessRunner.run(
            Self.client, ["join", "--coordinator", "127.0.0.1:\(port)", "--insecure", "--name", "shop", "--data", data])
        #expect(client.status != 0)
        #expect(client.standardError.contains("the coordinator requires mutual TLS; this client runs --insecure"), "\(client.standardError)")
        #expect(
            try await server.waitFor("refused connection from ipv4:127\\.0\\.0\\.1:[0-9]+: TLS handshake failed: the client speaks plaintext") != nil)
    }

    @Test func prometheusMetricsAreServedAndLogLevelsFilter() async throws {
        let (server, port) = try await Self.serve(state: try Fixtures.temporaryFolder(), extra: ["--metrics-port", "0", "--log-level", "notice"])
        defer { server.stop() }
        let metricsPort = try #require(try await server.waitFor("metrics at http://127\\.0\\.0\\.1:([0-9]+)/metrics"), "\(server.standardError)")
        let data = Fixtures.movieLens("silos/iid-10") + "/silo-00.csv"
        let client = try BackgroundProcess(
            Self.client, ["join", "--coordinator", "127.0.0.1:\(port)", "--insecure", "--name", "shop", "--data", data])
        defer { client.stop() }
        // The gauge is set as the join is answered, before the client says it joined.
        try #require(try await client.waitFor("joined as shop") != nil, "\(client.standardError)")
        let (body, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains("# TYPE fedattn_clients_connected gauge"), "\(text)")
        #expect(text.contains("fedattn_clients_connected 1"), "\(text)")
        // Beside them, liveness and readiness: its server listens and its state folder is there.
        let (ready, readyResponse) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/readyz")!)
        #expect((readyResponse as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: ready, as: UTF8.self).hasPrefix("ready: listening on 127.0.0.1:\(port), state folder "))
        let (_, aliveResponse) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/healthz")!)
        #expect((aliveResponse as? HTTPURLResponse)?.statusCode == 200)
        // At notice, a join (info) is not logged; where the server listens is.
        #expect(!server.standardError.contains("shop joined"))
        let bad = try ProcessRunner.run(Self.coordinator, ["serve", "--insecure", "--log-level", "loud", "--state", try Fixtures.temporaryFolder()])
        #expect(bad.standardError.contains("--log-level loud is not a level"), "\(bad.standardError)")
    }
}
