import FedAttnFederation
import FedAttnSimulation
import FedAttnTransport
import Foundation
import Testing
import _FedAttnTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The coordinator's status page: the facts built from a coordinator's state (who is
/// missing, what each silo spent), the page and its JSON rendered from them (each fact in its
/// cell, a hostile silo name escaped, the JSON read back whole), served on the metrics port
/// beside /metrics, and drawn by headless Chromium. Every server a test starts stops when
/// the test's scope ends.
struct StatusPageTests {
    /// Whole seconds: the JSON keeps dates to the second.
    static let time = Date(timeIntervalSince1970: 1_796_000_000)
    static let hostile = "<script>alert(1)</script>"

    /// Three rounds (the second kept and disputed, the third evaluated by 2 of 3 silos), two
    /// silos connected (one with a hostile name) and one missing, example-level DP-SGD with
    /// a budget, a certificate with 12 days left.
    static func sample() -> CoordinatorStatus {
        CoordinatorStatus(
            time: time, phase: .init(state: .training, round: 4, connected: 2, needed: 2), plannedRounds: 20, completedRounds: 3,
            keptRound: 2, keptBy: "validation NDCG@10", strategy: "fednova",
            rounds: [
                .init(
                    round: 1, publishedAt: time - 300, seconds: 12.5, trainSecondsMax: 10.25, participants: 3, evaluatedClients: 3, testAUC: 0.61,
                    testLogLoss: 0.55, validationAUC: 0.6, validationNDCG: 0.2, hitRate: 0.31, ndcg: 0.15, recallAt20: 0.1, ndcgAt20: 0.05,
                    exampleEpsilon: 1.5),
                .init(
                    round: 2, publishedAt: time - 200, seconds: 11.75, trainSecondsMax: 9.5, participants: 3, evaluatedClients: 3, testAUC: 0.71,
                    testLogLoss: 0.5, validationAUC: 0.7, validationNDCG: 0.3, hitRate: 0.41, ndcg: 0.25, recallAt20: 0.15, ndcgAt20: 0.07,
                    exampleEpsilon: 2.25, disputes: ["silo 'news' claims a validation AUC of 0.99, 0.29 above the others"]),
                .init(
                    round: 3, publishedAt: time - 100, seconds: 13, trainSecondsMax: 11, participants: 2, evaluatedClients: 2, partialOf: 3,
                    testAUC: 0.7, testLogLoss: 0.51, validationAUC: 0.69, validationNDCG: 0.28, hitRate: 0.4, ndcg: 0.24, recallAt20: 0.14,
                    ndcgAt20: 0.06, exampleEpsilon: 3, retries: ["round 3: 1 of 2 updates by the deadline"]),
            ],
            silos: [
                .init(name: "shop", state: .connected, rounds: 3, lastRound: 3, epsilon: 3),
                .init(name: hostile, state: .connected, rounds: 2, lastRound: 3, epsilon: 2.5),
                .init(name: "news", state: .missing, rounds: 2, lastRound: 2, epsilon: 2.25),
            ],
            membersFile: "/etc/fedattn/members.txt", privacy: .init(exampleLevel: true, exampleBudget: 8),
            certificate: .init(file: "coordinator/cert.pem", notAfter: time + 12 * 86_400 + 3_600, at: time))
    }

    /// The part of `html` from `<table class="NAME"` to its `</table>`.
    static func section(_ name: String, in html: String) -> Substring? {
        guard let start = html.range(of: "<table class=\"\(name)\""),
            let end = html.range(of: "</table>", range: start.upperBound..<html.endIndex)
        else { return nil }
        return html[start.upperBound..<end.lowerBound]
    }

    /// The data rows of the table of class `name`, each as its cells' text by column header,
    /// and "tr": the attributes of the row's opening tag. A row of notes (`data-notes`) is
    /// the row's before it, as "notes".
    static func table(_ name: String, in html: String) -> [[String: String]] {
        guard let rows = section(name, in: html)?.components(separatedBy: "<tr").dropFirst(), let header = rows.first else { return [] }
        let names = header.components(separatedBy: "<th>").dropFirst().map { String($0.prefix { $0 != "<" }) }
        var table: [[String: String]] = []
        for row in rows.dropFirst() {
            let tag = String(row.prefix { $0 != ">" })
            let cells = row.components(separatedBy: "<td").dropFirst().map { String($0.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" }) }
            if tag.contains("data-notes="), !table.isEmpty {
                table[table.count - 1]["notes"] = cells.last
                continue
            }
            var named = ["tr": tag]
            for (name, cell) in zip(names, cells) { named[name] = cell }
            table.append(named)
        }
        return table
    }

    /// The text of the page's heading line, the phase.
    static func phase(in html: String) -> String? {
        guard let start = html.range(of: "id=\"phase\">") else { return nil }
        return String(html[start.upperBound...].prefix { $0 != "<" })
    }

    /// The facts table: each row's heading and its cell's text.
    static func facts(in html: String) -> [String: String] {
        var facts: [String: String] = [:]
        for row in section("facts", in: html)?.components(separatedBy: "<th>").dropFirst() ?? [] {
            guard let cell = row.range(of: "<td") else { continue }
            facts[String(row.prefix { $0 != "<" })] = String(row[cell.upperBound...].drop { $0 != ">" }.dropFirst().prefix { $0 != "<" })
        }
        return facts
    }

    @Test func thePageShowsEachFactInItsCellEscapesSiloNamesAndItsJSONReadsBackWhole() throws {
        let status = Self.sample()
        let html = StatusPage.html(status)
        // Self-contained: no script, nothing fetched; it reloads itself.
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="))
        #expect(html.contains("<meta http-equiv=\"refresh\" content=\"10\">"))

        let facts = Self.facts(in: html)
        #expect(Self.phase(in: html) == "round 4 of 20 in progress: training (2 connected)")
        #expect(facts["rounds"] == "3 of 20 evaluated")
        #expect(facts["kept round"] == "round 2 (best validation NDCG@10; best.safetensors)")
        #expect(facts["silos"] == "2 connected, 1 missing; a round needs 2")
        #expect(facts["allow-list"] == "/etc/fedattn/members.txt: only the silos it lists are admitted")
        #expect(facts["privacy"] == "example-level DP-SGD in every silo (each silo's epsilon below), budget epsilon 8.000 per silo")
        let expiry = (Self.time + 12 * 86_400 + 3_600).formatted(.iso8601)
        #expect(
            facts["certificate"]
                == "coordinator/cert.pem expires on \(expiry) (12 days left): renew it before then (fedattn-coordinator renew --server; serve takes it without a restart)",
            "\(facts)")
        #expect(html.contains("<tr><th>certificate</th><td class=\"warn\">"), "within 30 days of expiry, marked")
        #expect(html.contains("<p class=\"phase phase-training\" id=\"phase\">round 4 of 20 in progress: training (2 connected)</p>"))

        // The rounds, newest first, each figure under its heading.
        let rounds = Self.table("rounds", in: html)
        try #require(rounds.map { $0["round"] } == ["3", "2", "1"], "\(rounds)")
        let (third, second, first) = (rounds[0], rounds[1], rounds[2])
        #expect(second["tr"] == " class=\"round best disputed\" data-round=\"2\"")
        #expect(second["test AUC"] == "0.7100" && second["val NDCG@10"] == "0.3000" && second["HR@10"] == "0.4100")
        #expect(second["Recall@20"] == "0.1500" && second["NDCG@20"] == "0.0700" && second["log loss"] == "0.5000")
        #expect(second["published"] == (Self.time - 200).formatted(.iso8601) && second["seconds"] == "11.75" && second["training"] == "9.50")
        #expect(second["epsilon (DP-SGD, largest)"] == "2.250")
        #expect(
            second["notes"]
                == "kept (best validation NDCG@10); disputed: silo 'news' claims a validation AUC of 0.99, 0.29 above the others")
        #expect(third["tr"] == " class=\"round partial\" data-round=\"3\"")
        #expect(third["trained"] == "2" && third["evaluated"] == "2")
        #expect(third["notes"] == "evaluated by 2 of 3 silos; retried: round 3: 1 of 2 updates by the deadline")
        #expect(first["tr"] == " class=\"round\" data-round=\"1\"" && first["notes"] == nil && first["test AUC"] == "0.6100")

        // The silos: connected, then missing; each one's epsilon against the budget.
        let silos = Self.table("silos", in: html)
        let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
        #expect(silos.map { $0["silo"] } == ["shop", escaped, "news"], "\(silos)")
        #expect(silos.map { $0["state"] } == ["connected", "connected", "missing"])
        #expect(silos.map { $0["tr"] } == [" class=\"silo connected\"", " class=\"silo connected\"", " class=\"silo missing\""])
        #expect(silos.map { $0["epsilon spent (DP-SGD)"] } == ["3.000", "2.500", "2.250"])
        #expect(silos.map { $0["budget"] } == ["8.000", "8.000", "8.000"])
        #expect(silos.map { $0["rounds trained"] } == ["3", "2", "2"] && silos.map { $0["last round"] } == ["3", "3", "2"])
        // A name from a certificate is text, never markup.
        #expect(!html.contains(Self.hostile) && html.contains(escaped))

        // The JSON: the same facts, snake case as `history --json`, read back whole.
        let json = StatusPage.json(status)
        #expect(try StatusPage.status(fromJSON: json) == status)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["kept_round"] as? Int == 2 && object["planned_rounds"] as? Int == 20)
        let firstRound = try #require((object["rounds"] as? [[String: Any]])?.first)
        #expect(firstRound["test_auc"] as? Double == 0.61 && firstRound["validation_ndcg_at_10"] as? Double == 0.2)
        #expect(firstRound["published_at"] as? String == (Self.time - 300).formatted(.iso8601))
        #expect((object["silos"] as? [[String: Any]])?.map { $0["name"] as? String } == ["shop", Self.hostile, "news"])
        #expect((object["certificate"] as? [String: Any])?["days_left"] as? Int == 12)
    }

    /// Who is missing: with an allow-list, the silos it lists that are not connected (one seen
    /// before and no longer listed is removed); without, every silo seen and not connected.
    /// Partial rounds, publication times, and the phase while stopping.
    @Test func theStatusOfASnapshotNamesWhoIsMissingAndWhatEachSiloSpent() {
        let time = Self.time
        let records = [
            RoundRecord(round: 1, modelVersion: "v1", participants: ["shop", "news", "video"], testAUC: 0.6, validationAUC: 0.6),
            RoundRecord(round: 2, modelVersion: "v2", participants: ["shop", "news"], testAUC: 0.7, validationAUC: 0.7),
        ]
        let snapshot = CoordinatorSnapshot(
            state: .training, round: 3, connected: ["shop"], joined: ["shop", "news", "video"], history: records, keptRound: 2,
            completedRounds: 2)
        let config = CoordinatorConfig(rounds: 5, minClients: 2)
        let status = CoordinatorStatus(
            snapshot, config: config, strategy: "fedavg", time: time, publishedAt: [1: time - 60, 2: time - 30],
            allowList: ["news", "retail", "shop"], membersFile: "members.txt", exampleEpsilon: ["shop": 1.5])
        #expect(
            status.silos == [
                CoordinatorStatus.Silo(name: "shop", state: .connected, rounds: 2, lastRound: 2, epsilon: 1.5),
                CoordinatorStatus.Silo(name: "news", state: .missing, rounds: 2, lastRound: 2),
                CoordinatorStatus.Silo(name: "retail", state: .missing),
                CoordinatorStatus.Silo(name: "video", state: .removed, rounds: 1, lastRound: 1),
            ])
        #expect(status.rounds.map(\.partialOf) == [nil, 3])
        #expect(status.rounds.map(\.publishedAt) == [time - 60, time - 30])
        #expect(status.phaseLine == "round 3 of 5 in progress: training (1 connected)")
        #expect(status.keptRound == 2 && status.keptBy == "validation AUC" && status.privacy == nil && status.certificate == nil)

        let open = CoordinatorStatus(snapshot, config: config, strategy: "fedavg", time: time)
        #expect(open.silos.map { "\($0.name) \($0.state)" } == ["shop connected", "news missing", "video missing"])

        let stopping = CoordinatorStatus(snapshot, config: config, strategy: "fedavg", time: time, stopping: "asked to stop (SIGTERM)")
        #expect(stopping.phase.state == .stopping && stopping.phaseLine == "stopping: asked to stop (SIGTERM)")
        let done = CoordinatorStatus(
            CoordinatorSnapshot(state: .complete, history: records, keptRound: 2, completedRounds: 2), config: config, strategy: "fedavg",
            time: time)
        #expect(done.phaseLine == "complete: 2 of the 5 rounds planned (it stopped early), round 2 kept")
    }

    /// The status, content type, content security policy and body of `GET path` on the
    /// metrics server at `port`.
    static func get(_ port: Int, _ path: String) async throws -> (status: Int, type: String?, policy: String?, body: String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        let http = response as? HTTPURLResponse
        return (
            http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "Content-Type"), http?.value(forHTTPHeaderField: "Content-Security-Policy"),
            String(decoding: data, as: UTF8.self)
        )
    }

    /// A coordinator served over mutual TLS, its status page on the metrics port: with one
    /// silo of the allow-list's two connected, the page says it waits, who is connected and
    /// who is missing; / answers the same page; /status.json reads back as the same facts.
    @Test func aServedCoordinatorAnswersItsStatusPageAndJSONOnTheMetricsPort() async throws {
        let folder = try Fixtures.temporaryFolder()
        let members = folder + "/members.txt"
        try "shop\nnews\n".write(toFile: members, atomically: true, encoding: .utf8)
        let membership = try Membership(membersFile: members, revokedFile: nil, logger: LogLines().logger)
        let authority = try DevCertificateAuthority()
        let server = try authority.serverIdentity(), shop = try authority.clientIdentity(name: "shop")
        let notAfter = try #require(server.notValidAfter)
        let coordinator = try TransportTests.coordinator(rounds: 3, minClients: 2)
        let source = CoordinatorStatusSource(
            coordinator: coordinator, membership: membership, certificate: { (file: "coordinator/cert.pem", notAfter: notAfter) })
        try await withCoordinatorServer(coordinator, host: "127.0.0.1", port: 0, security: .mutualTLS(server), membership: membership) { port in
            try await withMetricsServer(host: "127.0.0.1", port: 0, render: { Array("fedattn_up 1\n".utf8) }, status: StatusPage.serving(source)) {
                metricsPort in
                try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(shop)) { link in
                    _ = try await link.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
                    let page = try await Self.get(metricsPort, "/status")
                    #expect(page.status == 200 && page.type == "text/html; charset=utf-8", "\(page)")
                    #expect(page.policy?.hasPrefix("default-src 'none'; style-src 'unsafe-inline'") == true, "\(page)")
                    #expect(Self.phase(in: page.body) == "waiting for 2 clients to join (1 connected)", "\(page.body)")
                    let silos = Self.table("silos", in: page.body)
                    #expect(silos.map { "\($0["silo"] ?? "") \($0["state"] ?? "")" } == ["shop connected", "news missing"], "\(page.body)")
                    #expect(page.body.contains("<p>No round evaluated yet.</p>"))

                    let root = try await Self.get(metricsPort, "/")
                    #expect(root.status == 200 && root.type == "text/html; charset=utf-8")
                    #expect(Self.phase(in: root.body) == "waiting for 2 clients to join (1 connected)")

                    let json = try await Self.get(metricsPort, "/status.json")
                    #expect(json.status == 200 && json.type == "application/json; charset=utf-8", "\(json)")
                    let status = try StatusPage.status(fromJSON: Data(json.body.utf8))
                    #expect(status.phase == CoordinatorStatus.Phase(state: .waiting, connected: 1, needed: 2))
                    #expect(
                        status.silos == [
                            CoordinatorStatus.Silo(name: "shop", state: .connected), CoordinatorStatus.Silo(name: "news", state: .missing),
                        ])
                    #expect(status.membersFile == members && status.plannedRounds == 3 && status.rounds.isEmpty)
                    // Thirty days from its making, less the moments since.
                    #expect(
                        status.certificate?.daysLeft == 29 && status.certificate?.notAfter == notAfter, "\(String(describing: status.certificate))")

                    // The metrics are where they were; anything else names the status page too.
                    #expect(try await Self.get(metricsPort, "/metrics").body == "fedattn_up 1\n")
                    let other = try await Self.get(metricsPort, "/statuses")
                    #expect(other.status == 404 && other.body.contains("the status page at / and /status, its JSON at /status.json"), "\(other)")
                }
            }
        }
    }

    /// Headless Chromium reads the page as a browser does: the rounds table has its three
    /// rows, newest first, the kept round's marked, and the hostile name is text in the
    /// document, not an element.
    @Test(.enabled(if: ProcessRunner.chromium != nil, "needs headless Chromium (make test-deps installs it)"))
    func chromiumReadsTheRoundsTableAndTheKeptRound() throws {
        let page = try Fixtures.temporaryFolder() + "/status.html"
        try StatusPage.html(Self.sample()).write(toFile: page, atomically: true, encoding: .utf8)
        let render = try ProcessRunner.run(
            ProcessRunner.chromium!, ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,900", "--dump-dom", "file://\(page)"])
        #expect(render.status == 0, "\(render.standardError)")
        let dom = render.standardOutput
        let rounds = Self.table("rounds", in: dom)
        #expect(rounds.map { $0["round"] } == ["3", "2", "1"], "\(dom)")
        #expect(rounds.filter { $0["tr"]?.contains("best") == true }.map { $0["round"] } == ["2"], "\(rounds)")
        #expect(rounds.first { $0["round"] == "2" }?["notes"]?.hasPrefix("kept (best validation NDCG@10)") == true)
        #expect(Self.table("silos", in: dom).map { $0["state"] } == ["connected", "connected", "missing"])
        #expect(!dom.contains("<script") && dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "\(dom)")
    }
}
