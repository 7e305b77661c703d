import FedAttnFederation
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What an operator does around a run, with the built executables: asks which version runs,
/// points a client at the coordinator, names the silos, and stops a process the way a service
/// manager does. Every process started here is stopped here.
struct OperatorLifecycleTests {
    static let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    static let coordinator = folder.appendingPathComponent("fedattn-coordinator").path
    static let client = folder.appendingPathComponent("fedattn-client").path

    /// Both executables say their release and the wire protocol they speak, the same line from
    /// the root command and from a subcommand (before its required options are asked for).
    @Test func bothExecutablesSayTheirVersionAndTheProtocolTheySpeak() throws {
        var releases: Set<String> = []
        // The coordinator admits clients of 11, 10 and 9; the client joins with 11, or with 10,
        // then 9, when an older coordinator refuses it.
        let coordinatorSpeaks = Coordinator.protocolVersions.map { "\($0)" }.joined(separator: ", ")
        let clientSpeaks = ([Coordinator.protocolVersion] + Coordinator.olderClientProtocols).map { "\($0)" }.joined(separator: ", ")
        #expect(coordinatorSpeaks == "11, 10, 9" && clientSpeaks == "11, 10, 9")
        for (path, name, subcommand, speaks) in [
            (Self.coordinator, "fedattn-coordinator", "serve", coordinatorSpeaks),
            (Self.client, "fedattn-client", "join", clientSpeaks),
        ] {
            let root = try ProcessRunner.run(path, ["--version"])
            #expect(root.status == 0, "\(root.standardError)")
            let line = root.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(line.hasPrefix("\(name) "), "\(line)")
            #expect(line.hasSuffix("(wire protocol \(speaks))"), "\(line)")
            releases.insert(String(line.dropFirst(name.count + 1).prefix { $0 != " " }))
            let sub = try ProcessRunner.run(path, [subcommand, "--version"])
            #expect(sub.status == 0 && sub.standardOutput == root.standardOutput, "\(sub.standardOutput)\(sub.standardError)")
        }
        #expect(releases.count == 1 && releases.first?.isEmpty == false, "\(releases)")
    }

    /// SIGTERM, as a service manager stops it: a coordinator that published nothing says so
    /// and ends with status 0 (it ended with 143 and said nothing).
    @Test func aCoordinatorAskedToStopBeforeAnyRoundSaysSoAndExitsZero() async throws {
        let state = try Fixtures.temporaryFolder()
        let server = try BackgroundProcess(
            Self.coordinator, ["serve", "--insecure", "--host", "127.0.0.1", "--port", "0", "--state", state, "--min-clients", "2"])
        defer { server.stop() }
        try #require(try await server.waitFor("listening on 127\\.0\\.0\\.1:[0-9]+") != nil, "\(server.standardError)")
        server.send(SIGTERM)
        #expect(try await server.waitForExit() == 0, "\(server.standardError)")
        #expect(server.standardError.contains("asked to stop (SIGTERM): closing the server"), "\(server.standardError)")
        #expect(server.standardError.contains("stopped: no round was published yet; serve on \(state) again starts from round 1"))
    }

    /// Mid-federation: a client stopped with Ctrl-C leaves (the coordinator names it) and exits
    /// 0; the coordinator stopped with SIGTERM names the last round its folder keeps, exits 0,
    /// and served again on the folder resumes from that round.
    @Test func aFederationStoppedMidRunSaysWhatIsKeptAndResumesThere() async throws {
        let state = try Fixtures.temporaryFolder() + "/state"
        let serve = ["serve", "--insecure", "--host", "127.0.0.1", "--port", "0", "--state", state, "--min-clients", "1", "--rounds", "1000"]
        let server = try BackgroundProcess(Self.coordinator, serve)
        defer { server.stop() }
        let port = try #require(try await server.waitFor("listening on 127\\.0\\.0\\.1:([0-9]+)"), "\(server.standardError)")
        let data = Fixtures.movieLens("silos/iid-10") + "/silo-00.csv"
        let client = try BackgroundProcess(
            Self.client, ["join", "--coordinator", "127.0.0.1:\(port)", "--insecure", "--name", "shop", "--data", data])
        defer { client.stop() }
        // Round 1 is on record (published and evaluated) before either is stopped.
        try #require(try await server.waitFor("round 1: 1 clients") != nil, "\(server.standardError)")

        client.send(SIGINT)
        #expect(try await client.waitForExit() == 0, "\(client.standardError)")
        #expect(client.standardError.contains("asked to stop (SIGINT): leaving the federation"), "\(client.standardError)")
        #expect(client.standardError.split(separator: "\n").contains { $0.hasSuffix("Z stopped") }, "\(client.standardError)")
        #expect(try await server.waitFor("shop left") != nil, "\(server.standardError)")

        server.send(SIGTERM)
        #expect(try await server.waitForExit() == 0, "\(server.standardError)")
        #expect(server.standardError.contains("asked to stop (SIGTERM): closing the server"), "\(server.standardError)")
        let kept = try #require(
            try await server.waitFor("stopped: .* keeps round ([0-9]+), the last published"), "\(server.standardError)")
        // The folder holds what the line says: its last round is that one.
        let history = try ProcessRunner.run(Self.coordinator, ["history", "--state", state, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(history.standardOutput.utf8)) as? [String: Any])
        let rounds = try #require(object["rounds"] as? [[String: Any]], "\(history.standardOutput)")
        #expect(rounds.last?["round"] as? Int == Int(kept), "\(rounds.map { $0["round"] ?? "?" })")
        // Served again on it, it resumes from there.
        let again = try BackgroundProcess(Self.coordinator, serve)
        defer { again.stop() }
        #expect(try await again.waitFor("resuming from .*: round ([0-9]+) is the last published") == kept, "\(again.standardError)")
    }

    /// After its last round the coordinator keeps serving until stopped: a silo joining then is
    /// told the federation is done and leaves with the kept model, and the metrics are still
    /// served; SIGTERM ends it with status 0, saying the folder holds the complete federation.
    /// Started again on that folder, it says so at start and serves it; with --exit-when-done
    /// it says so and exits at once, without listening.
    @Test func aFinishedFederationIsServedUntilStoppedAndSaysSoWhenStartedAgain() async throws {
        let work = try Fixtures.temporaryFolder()
        let state = work + "/state"
        let serve = ["serve", "--insecure", "--host", "127.0.0.1", "--port", "0", "--state", state, "--min-clients", "1", "--rounds", "1"]
        let server = try BackgroundProcess(Self.coordinator, serve + ["--metrics-port", "0"])
        defer { server.stop() }
        let port = try #require(try await server.waitFor("listening on 127\\.0\\.0\\.1:([0-9]+)"), "\(server.standardError)")
        let metricsPort = try #require(try await server.waitFor("metrics at http://127\\.0\\.0\\.1:([0-9]+)/metrics"), "\(server.standardError)")
        let data = Fixtures.movieLens("silos/iid-10")
        func join(_ name: String, _ silo: String, _ extra: [String] = []) throws -> BackgroundProcess {
            try BackgroundProcess(
                Self.client, ["join", "--coordinator", "127.0.0.1:\(port)", "--insecure", "--name", name, "--data", "\(data)/\(silo)"] + extra)
        }
        let first = try join("shop", "silo-00.csv")
        defer { first.stop() }
        #expect(try await first.waitForExit() == 0, "\(first.standardError)")
        let kept = try #require(
            try await server.waitFor("federation complete \\(1 round, round ([0-9]+) kept \\(best\\.safetensors\\)\\): serving the kept model"),
            "\(server.standardError)")
        #expect(kept == "1")

        // Still serving once done: a silo joining now hears DONE and fetches the kept model.
        let late = try join("video", "silo-01.csv", ["--model-out", work + "/kept.safetensors"])
        defer { late.stop() }
        #expect(try await late.waitForExit() == 0, "\(late.standardError)")
        #expect(late.standardError.contains("federation done") && late.standardError.contains("the kept model"), "\(late.standardError)")
        #expect(try ModelFile.load(from: work + "/kept.safetensors").parameters == (try ModelFile.load(from: state + "/best.safetensors")).parameters)
        // And its metrics; it is alive, and ready (it still answers clients), saying it is done.
        let (body, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: body, as: UTF8.self).contains("# TYPE fedattn_rounds_total counter"))
        let (alive, aliveResponse) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/healthz")!)
        #expect((aliveResponse as? HTTPURLResponse)?.statusCode == 200 && String(decoding: alive, as: UTF8.self) == "alive\n")
        let (ready, readyResponse) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/readyz")!)
        let readyLine = String(decoding: ready, as: UTF8.self)
        #expect((readyResponse as? HTTPURLResponse)?.statusCode == 200, "\(readyLine)")
        #expect(
            readyLine.hasPrefix("ready: listening on 127.0.0.1:\(port), state folder \(state); the federation is complete (1 round, round 1 kept"),
            "\(readyLine)")
        // Its status page says so too, and its JSON, for scripts, names the round kept, when it
        // was published and the silos seen (connected or not: their leaving may still be under way).
        let (page, pageResponse) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/status")!)
        let pageHTTP = try #require(pageResponse as? HTTPURLResponse)
        #expect(pageHTTP.statusCode == 200 && pageHTTP.value(forHTTPHeaderField: "Content-Type") == "text/html; charset=utf-8")
        #expect(String(decoding: page, as: UTF8.self).contains("complete: 1 round, round 1 kept"), "\(String(decoding: page, as: UTF8.self))")
        let (json, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/status.json")!)
        let status = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any], "\(String(decoding: json, as: UTF8.self))")
        #expect((status["phase"] as? [String: Any])?["state"] as? String == "complete")
        #expect(status["kept_round"] as? Int == 1)
        let statusRounds = try #require(status["rounds"] as? [[String: Any]])
        #expect(statusRounds.count == 1 && statusRounds.first?["published_at"] as? String != nil, "\(statusRounds)")
        let silos = (status["silos"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(silos.sorted() == ["shop", "video"], "\(silos)")

        server.send(SIGTERM)
        #expect(try await server.waitForExit() == 0, "\(server.standardError)")
        #expect(server.standardError.contains("asked to stop (SIGTERM)"), "it ran on until stopped: \(server.standardError)")
        #expect(
            server.standardError.contains(
                "stopped: \(state) holds the complete federation (1 round, round 1 kept (best.safetensors)); serve on it again"),
            "\(server.standardError)")

        // Started again on the finished folder: said at start, then served until stopped.
        let again = try BackgroundProcess(Self.coordinator, serve)
        defer { again.stop() }
        try #require(
            try await again.waitFor("listening on 127\\.0\\.0\\.1:[0-9]+; the federation is complete") != nil, "\(again.standardError)")
        #expect(
            again.standardError.contains("\(state) holds a complete federation (1 round, round 1 kept (best.safetensors)): serving its kept model"),
            "\(again.standardError)")
        again.send(SIGTERM)
        #expect(try await again.waitForExit() == 0, "\(again.standardError)")

        // With --exit-when-done: said, and left at once.
        let once = try ProcessRunner.run(Self.coordinator, serve + ["--exit-when-done"])
        #expect(once.status == 0, "\(once.standardError)")
        #expect(
            once.standardError.contains("\(state) holds a complete federation (1 round, round 1 kept (best.safetensors)); --exit-when-done: exiting"),
            "\(once.standardError)")
        #expect(!once.standardError.contains("listening on"), "\(once.standardError)")
    }

    /// What /metrics says: every metric with its # HELP line; the round, the last round's
    /// pooled test AUC and the privacy it spent, as the state folder's history has them; the
    /// seconds left on the coordinator's certificate; and the build. A certificate within 30
    /// days of its expiry is a warning from the start.
    @Test func everyMetricSaysWhatItIsAndTheyShowTheRoundAUCPrivacyCertificateAndBuild() async throws {
        let work = try Fixtures.temporaryFolder()
        let fed = work + "/fed", state = work + "/state"
        // Certificates for ten days: inside the 30 days of warning.
        let provision = try ProcessRunner.run(
            Self.coordinator, ["provision", "--out", fed, "--coordinator-host", "127.0.0.1", "--silo", "shop", "--days", "10"])
        try #require(provision.status == 0, "\(provision.standardError)")
        let server = try BackgroundProcess(
            Self.coordinator,
            [
                "serve", "--host", "127.0.0.1", "--port", "0", "--cert", fed + "/coordinator/cert.pem", "--key", fed + "/coordinator/key.pem",
                "--ca", fed + "/coordinator/ca.pem", "--state", state, "--rounds", "1", "--min-clients", "1", "--metrics-port", "0",
                "--example-target-epsilon", "8",
            ])
        defer { server.stop() }
        let port = try #require(try await server.waitFor("listening on 127\\.0\\.0\\.1:([0-9]+)"), "\(server.standardError)")
        let metricsPort = try #require(try await server.waitFor("metrics at http://127\\.0\\.0\\.1:([0-9]+)/metrics"), "\(server.standardError)")
        let certificate = NSRegularExpression.escapedPattern(for: fed + "/coordinator/cert.pem")
        let days = try #require(
            try await server.waitFor("the certificate \(certificate) expires on [0-9TZ:-]+, in ([0-9]+) days: issue a new one"),
            "\(server.standardError)")
        // Ten days from provisioning, rounded down; X.509 keeps whole seconds, so a certificate
        // made within the second may still have all ten.
        #expect(days == "9" || days == "10", "\(days)")

        let client = try BackgroundProcess(
            Self.client,
            [
                "join", "--coordinator", "127.0.0.1:\(port)", "--cert", "\(fed)/silos/shop/cert.pem", "--key", "\(fed)/silos/shop/key.pem",
                "--ca", "\(fed)/silos/shop/ca.pem", "--data", Fixtures.movieLens("silos/iid-10") + "/silo-00.csv",
            ])
        defer { client.stop() }
        #expect(try await client.waitForExit() == 0, "\(client.standardError)")
        try #require(try await server.waitFor("federation complete") != nil, "\(server.standardError)")

        let (body, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!)
        let text = String(decoding: body, as: UTF8.self)
        let lines = text.split(separator: "\n").map(String.init)
        for (index, line) in lines.enumerated() where line.hasPrefix("# TYPE ") {
            let name = line.split(separator: " ")[2]
            #expect(index > 0 && lines[index - 1].hasPrefix("# HELP \(name) "), "no # HELP line for \(name): \(text)")
        }
        var samples: [String: Double] = [:]
        for line in lines where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            samples[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        #expect(samples["fedattn_round"] == 1, "\(text)")
        let left = try #require(samples["fedattn_certificate_expiry_seconds"], "\(text)")
        #expect(left > 9 * 86_400 && left <= 10 * 86_400, "\(left)")
        let version = try ProcessRunner.run(Self.coordinator, ["--version"]).standardOutput
        let release = try #require(version.split(separator: " ").dropFirst().first, "\(version)")
        let protocols = Coordinator.protocolVersions.map { "\($0)" }.joined(separator: ",")
        #expect(samples["fedattn_build_info{version=\"\(release)\",protocol=\"\(protocols)\"}"] == 1, "\(text)")
        #expect(samples["fedattn_epsilon_spent{kind=\"client\"}"] == nil, "no DP-FedAvg here: \(text)")

        server.send(SIGTERM)
        #expect(try await server.waitForExit() == 0, "\(server.standardError)")
        // The AUC and the epsilon are the history's.
        let history = try ProcessRunner.run(Self.coordinator, ["history", "--state", state, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(history.standardOutput.utf8)) as? [String: Any])
        let round = try #require((object["rounds"] as? [[String: Any]])?.first, "\(history.standardOutput)")
        let auc = try #require(round["test_auc"] as? Double), epsilon = try #require(round["example_epsilon"] as? Double)
        #expect(abs((samples["fedattn_last_test_auc"] ?? 0) - auc) < 1e-9, "\(auc): \(text)")
        #expect(abs((samples["fedattn_epsilon_spent{kind=\"example\"}"] ?? 0) - epsilon) < 1e-9, "\(epsilon): \(text)")
    }

    /// A silo's log, read beside the coordinator's: every line of `join` begins with its time,
    /// ISO 8601 in UTC, and each round says this silo's own test AUC of the federated model
    /// (with one silo, the pooled figure the history keeps).
    @Test func aClientsLogIsTimestampedInUTCAndGivesItsOwnTestAUCEachRound() async throws {
        let state = try Fixtures.temporaryFolder() + "/state"
        let server = try BackgroundProcess(
            Self.coordinator,
            [
                "serve", "--insecure", "--host", "127.0.0.1", "--port", "0", "--state", state, "--min-clients", "1", "--rounds", "2",
                "--exit-when-done",
            ])
        defer { server.stop() }
        let port = try #require(try await server.waitFor("listening on 127\\.0\\.0\\.1:([0-9]+)"), "\(server.standardError)")
        let started = Date()
        let client = try BackgroundProcess(
            Self.client,
            [
                "join", "--coordinator", "127.0.0.1:\(port)", "--insecure", "--name", "shop", "--data",
                Fixtures.movieLens("silos/iid-10") + "/silo-00.csv",
            ])
        defer { client.stop() }
        #expect(try await client.waitForExit() == 0, "\(client.standardError)")
        #expect(try await server.waitForExit() == 0, "\(server.standardError)")
        let finished = Date()

        let log = client.standardError
        let lines = log.split(separator: "\n").map(String.init)
        #expect(lines.count > 5, "\(log)")
        let stamp = try NSRegularExpression(pattern: "^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z) [^ ]")
        let parser = ISO8601DateFormatter()
        for line in lines {
            let match = stamp.firstMatch(in: line, range: NSRange(line.startIndex..., in: line))
            let time = match.flatMap { Range($0.range(at: 1), in: line) }.flatMap { parser.date(from: String(line[$0])) }
            // Whole seconds: a second's slack either side.
            #expect(time.map { $0 >= started - 1 && $0 <= finished + 1 } == true, "not stamped with its time in UTC: \(line)")
        }

        let history = try ProcessRunner.run(Self.coordinator, ["history", "--state", state, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(history.standardOutput.utf8)) as? [String: Any])
        let rounds = try #require(object["rounds"] as? [[String: Any]], "\(history.standardOutput)")
        #expect(rounds.count == 2)
        for record in rounds {
            let round = try #require(record["round"] as? Int), auc = try #require(record["test_auc"] as? Double)
            // Beside the model it trained itself that round, before averaging.
            let said = String(format: "Z round %d: this silo's test AUC %.4f with the federated model, 0.", round, auc)
            #expect(log.contains(said) && log.contains("with its own model of the round before averaging ("), "\(said): \(log)")
        }
    }

    /// A coordinator given as a URL or a path is refused at once, naming the form to give (a
    /// URL's host was retried for ten minutes as a name that never resolves).
    @Test func aCoordinatorGivenAsAURLOrAPathIsRefusedAtOnceNamingTheForm() throws {
        let cases = [
            ("https://127.0.0.1:7443", "is a URL: give HOST:PORT", "(here 127.0.0.1:7443)"),
            ("grpc://fed.example.org", "is a URL: give HOST:PORT", "(here fed.example.org:PORT)"),
            ("fed.example.org:7443/federation", "has a path after the port", "(here fed.example.org:7443)"),
            ("/run/fedattn.sock", "is a path", "e.g. fed.example.org:7443"),
            ("fed.example.org", "has no port", "e.g. fed.example.org:7443"),
        ]
        for (given, what, hint) in cases {
            let result = try ProcessRunner.run(Self.client, ["join", "--coordinator", given, "--insecure", "--name", "shop", "--data", "x"])
            #expect(result.status != 0, "\(given)")
            #expect(result.standardError.contains("--coordinator \(given) \(what)"), "\(result.standardError)")
            #expect(result.standardError.contains(hint), "\(result.standardError)")
            #expect(!result.standardError.contains("retrying"), "\(result.standardError)")
        }
    }

    /// A client whose first attempt finds nothing listening says so once, with what to check,
    /// then keeps trying with the short line; asked to stop meanwhile, it ends with status 0.
    /// With no time to retry, the same explanation is why it gave up.
    @Test func aFirstConnectionThatFailsIsExplainedOnceWithWhatToCheck() async throws {
        let port = try Fixtures.freePort()  // nothing listens there
        let data = Fixtures.movieLens("silos/iid-10") + "/silo-00.csv"
        let join = ["join", "--coordinator", "127.0.0.1:\(port)", "--insecure", "--name", "shop", "--data", data]
        let explained = "cannot reach the coordinator at 127.0.0.1:\(port) (connection refused: nothing listens on port \(port) there)"
        let hints = ["check that the coordinator runs", "the port it logs as 'listening on'", "no firewall"]

        let client = try BackgroundProcess(Self.client, join)
        defer { client.stop() }
        try #require(try await client.waitFor("coordinator unreachable \\(") != nil, "\(client.standardError)")
        let log = client.standardError
        #expect(log.components(separatedBy: "cannot reach the coordinator").count == 2, "explained once: \(log)")
        #expect(log.contains(explained), "\(log)")
        for hint in hints { #expect(log.contains(hint), "\(hint): \(log)") }
        #expect(log.contains("trying again for up to 600 s"), "\(log)")
        client.send(SIGTERM)
        #expect(try await client.waitForExit() == 0, "\(client.standardError)")
        #expect(client.standardError.contains("asked to stop (SIGTERM): leaving the federation"), "\(client.standardError)")

        let gaveUp = try ProcessRunner.run(Self.client, join + ["--retry-for", "0"])
        #expect(gaveUp.status != 0)
        #expect(gaveUp.standardError.contains(explained), "\(gaveUp.standardError)")
        #expect(gaveUp.standardError.contains(hints[0]), "\(gaveUp.standardError)")
    }

    /// '.' and '..' are not silo names: `provision --silo` refuses them, and any name holding a
    /// path step, naming the bad one before it writes anything. A good name's kit is written
    /// inside DIR/silos/ and nowhere else, and a kit folder that is already there (a link to
    /// elsewhere) is refused rather than written through.
    @Test func provisionRefusesPathStepsAsSiloNamesAndWritesOnlyInsideItsSilosFolder() throws {
        let work = try Fixtures.temporaryFolder()
        let files = FileManager.default
        func provision(_ out: String, _ silos: [String]) throws -> ProcessResult {
            try ProcessRunner.run(Self.coordinator, ["provision", "--out", out, "--coordinator-host", "127.0.0.1", "--silo"] + silos)
        }
        for (bad, why) in [
            (".", "'.' and '..' are path steps"), ("..", "'.' and '..' are path steps"),
            ("../escape", "a silo name holds only lowercase letters"), ("a/../../escape", "a silo name holds only lowercase letters"),
        ] {
            let result = try provision(work + "/fed", ["shop", bad])
            #expect(result.status != 0, "\(bad)")
            #expect(result.standardError.contains("--silo \"\(bad)\": \(why)"), "\(result.standardError)")
        }
        #expect(try files.contentsOfDirectory(atPath: work).isEmpty, "nothing written for a refused name")

        let made = try provision(work + "/fed", ["shop", "a.b"])
        try #require(made.status == 0, "\(made.standardError)")
        let written = files.subpaths(atPath: work) ?? []
        #expect(written.allSatisfy { $0 == "fed" || $0.hasPrefix("fed/") }, "\(written)")
        var kits: Set<String> = ["fed/silos"]
        for name in ["shop", "a.b"] {
            kits.insert("fed/silos/\(name)")
            for file in ["cert.pem", "key.pem", "ca.pem", "join.sh"] { kits.insert("fed/silos/\(name)/\(file)") }
        }
        #expect(Set(written.filter { $0.hasPrefix("fed/silos") }) == kits, "\(written)")

        // A kit folder already there, as a link to another folder: refused, nothing written through it.
        let other = work + "/other", elsewhere = work + "/elsewhere"
        try files.createDirectory(atPath: other + "/silos", withIntermediateDirectories: true)
        try files.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try files.createSymbolicLink(atPath: other + "/silos/shop", withDestinationPath: elsewhere)
        let linked = try provision(other, ["shop"])
        #expect(linked.status != 0)
        #expect(linked.standardError.contains("--silo \"shop\": \(other)/silos/shop already exists"), "\(linked.standardError)")
        #expect(try files.contentsOfDirectory(atPath: elsewhere).isEmpty)
        #expect(!files.fileExists(atPath: other + "/ca"))
    }
}
