import FedAttnAggregation
import FedAttnCore
import FedAttnData
import FedAttnFederation
import FedAttnModel
import FedAttnSimulation
import Foundation
import Logging
import Testing
import _FedAttnTestSupport

/// A link whose silo shares counts no silo could have (an item past the model's table):
/// the coordinator refuses them, and the silo carries on.
private struct BadCountsLink: FederationLink {
    let inner: InProcessLink

    func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo {
        try await inner.join(protocolVersion: protocolVersion, trainExamples: trainExamples)
    }
    func nextTask(lastRound: Int) async throws -> FederationTask { try await inner.nextTask(lastRound: lastRound) }
    func downloadModel(version: String, base: String?) async throws -> DownloadedPayload {
        try await inner.downloadModel(version: version, base: base)
    }
    func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        try await inner.uploadUpdate(round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
    }
    func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws {
        try await inner.reportEvaluation(round: round, version: version, report: report)
    }
    func sendSecure(_ reply: SecureReply) async throws { try await inner.sendSecure(reply) }
    func sharePopularity(_ counts: PopularityCounts?) async throws -> String {
        let past = Int32(PopularityTests.model.items.rowCount + 5)
        return try await inner.sharePopularity(PopularityCounts(items: [past], counts: [1]))
    }
}

/// The most-popular baseline of a served federation (protocol 10): each silo's train-row
/// counts pooled by the coordinator, handed back, scored by each silo on its own test users
/// with the model's ranking protocol, the sums pooled and stored. Its figures are exactly what
/// `simulate` computes in process, holding every silo; a silo of protocol 9, one that
/// declines and one whose counts are refused are left out of the pool and the federation
/// carries on; under differential privacy no counts are pooled, and the history says why.
/// (Under secure aggregation they are a secure sum: `SecurePopularityTests`.)
struct PopularityTests {
    static let model = Fixtures.syntheticConfig

    /// Three silos of the synthetic data, each with its validation split and ranking cases.
    static func silos(_ count: Int = 3) -> [SimulatedSilo] {
        let log = SyntheticGenerator(config: Fixtures.syntheticData).generate()
        return SiloSplitter(silos: count, scheme: .iid, seed: 1).split(log).enumerated().map { i, part in
            SimulatedSilo(name: "s\(i)", log: part, builder: ExampleBuilder(), validationFraction: 0.1)
        }
    }

    static func work(_ silo: SimulatedSilo, shares: Bool = true) -> SiloWork {
        SiloWork(
            train: silo.train, validation: silo.validation, test: silo.test, ranking: silo.ranking, validationRanking: silo.validationRanking,
            sharesPopularity: shares)
    }

    /// The baseline as `simulate` makes it, of the counts of `pooled` scored on `scored`'s users.
    static func expected(pooled: [SimulatedSilo], scored: [SimulatedSilo]) -> RankingSums {
        var counts = Popularity(rows: model.items.rowCount)
        for silo in pooled { counts.merge(Popularity(rows: model.items.rowCount, train: silo.train)) }
        var sums = RankingSums()
        for silo in scored { sums.merge(counts.rank(silo.ranking, catalogue: silo.ranking.catalogue(for: model.items))) }
        return sums
    }

    /// 2 rounds of 3 silos, pooling from as few as 2 of them (the tests with a silo of
    /// protocol 9, a decline or refused counts pool two).
    static var twoRounds: CoordinatorConfig {
        var config = CoordinatorConfig(rounds: 2, minClients: 3)
        config.popularityMinimumSilos = 2
        return config
    }

    /// Runs a federation of `silos` over in-process links (each made by `link`, with its
    /// work), to its end; returns the coordinator.
    static func federate(
        _ silos: [SimulatedSilo], config: CoordinatorConfig = PopularityTests.twoRounds, store: StateStore? = nil,
        logger: Logger = Logger(label: "quiet", factory: { _ in SwiftLogNoOpLogHandler() }),
        events: @escaping @Sendable (String, ParticipantEvent) -> Void = { _, _ in },
        work: (SimulatedSilo) -> SiloWork = { PopularityTests.work($0) },
        link: @escaping @Sendable (InProcessLink) -> any FederationLink = { $0 }
    ) async throws -> Coordinator {
        let coordinator = try Coordinator(
            modelConfig: model, config: config, initialModel: try AttentionModel(config: model, seed: 0), store: store, logger: logger)
        // Distinct secure draws: a row two silos touch cannot read as untouched by chance.
        let participants = silos.enumerated().map { i, silo in
            (name: silo.name, participant: Participant(work: work(silo), secureDrawSeed: UInt64(i + 1)))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (name, participant) in participants {
                let silo = link(InProcessLink(coordinator: coordinator, client: name))
                group.addTask { try await participant.run(link: silo, expectedModel: model) { events(name, $0) } }
            }
            try await group.waitForAll()
        }
        return coordinator
    }

    /// (a) Three silos that all share: the pooled counts are the sum of their train rows per
    /// item, and the baseline's sums in the history equal `SimulatedSilo.popularity`'s, exactly
    /// (the same counts, the same negatives from seed 0, the same catalogue; the silos' sums
    /// added in the same order); a coordinator resumed on the folder keeps them.
    @Test func aServedFederationsBaselineIsTheOneSimulateComputes() async throws {
        let silos = Self.silos()
        let folder = try Fixtures.temporaryFolder()
        let coordinator = try await Self.federate(silos, store: try StateStore(folder: folder))
        #expect(await coordinator.isDone)
        let served = await coordinator.popularityBaseline
        let simulated = SimulatedSilo.popularity(of: silos, model: Self.model)
        #expect(served.isMeasured && served.status == .pooled)
        #expect(served.pooledFrom == ["s0", "s1", "s2"] && served.scoredBy == ["s0", "s1", "s2"] && served.declined.isEmpty)
        #expect(served.sums == simulated, "served \(served.sums), simulated \(simulated)")
        #expect(served.sums.users > 0 && served.sums.catalogueUsers > 0)
        // What the history holds: the pool as it closed, and each silo's sums.
        let kept = try #require(try StateStore.reading(folder: folder).popularity())
        #expect(kept.baseline == served)
        var dense = [Int](repeating: 0, count: Self.model.items.rowCount)
        for silo in silos { for item in silo.train.candidates { dense[Int(item)] += 1 } }
        let pooled = try #require(kept.counts)
        #expect(pooled.items == dense.indices.filter { dense[$0] > 0 }.map { Int32($0) })
        #expect(pooled.counts == dense.filter { $0 > 0 })
        #expect(served.line.hasPrefix("most popular items (counts summed over 3 silos, scored by 3 silos): HR@10 "), "\(served.line)")
        // Resumed on (a copy of) the folder for a third round: the pool stays closed with the
        // same counts, no silo is asked to score it again, and the figures stay.
        let copy = try Fixtures.temporaryFolder()
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name != "lock" {
            try FileManager.default.copyItem(atPath: folder + "/" + name, toPath: copy + "/" + name)
        }
        let scored = Counter()
        let again = try await Self.federate(
            silos, config: CoordinatorConfig(rounds: 3, minClients: 3), store: try StateStore(folder: copy),
            events: { _, event in if case .popularityScored = event { scored.increment() } })
        #expect(await again.history.count == 3)
        #expect(await again.popularityBaseline == served)
        #expect(scored.value == 0)
        #expect(try StateStore.reading(folder: copy).popularity() == kept)
    }

    /// (b) A client of protocol 9 beside two of 10: it joins, trains and evaluates every round
    /// (logged once as sharing no counts); the baseline is pooled from the other two, and
    /// scored by them alone.
    @Test func aProtocol9ClientTakesPartWithoutTheBaseline() async throws {
        let silos = Self.silos()
        let lines = LogLines()
        let coordinator = try await Self.federate(
            silos, logger: lines.logger, link: { link in link.client == "s2" ? Protocol9Link(inner: link) as any FederationLink : link })
        let history = await coordinator.history
        #expect(history.count == 2 && history.allSatisfy { Set($0.participants) == ["s0", "s1", "s2"] && $0.evaluatedClients == 3 })
        let served = await coordinator.popularityBaseline
        #expect(served.pooledFrom == ["s0", "s1"] && served.oldProtocol == ["s2"] && served.scoredBy == ["s0", "s1"])
        #expect(served.sums == Self.expected(pooled: Array(silos[0...1]), scored: Array(silos[0...1])))
        #expect(served.line.contains("no counts from s2 (protocol 9)"), "\(served.line)")
        let said = lines.all.filter { $0 == "client s2 speaks wire protocol 9: it shares no popularity counts" }
        #expect(said.count == 1, "\(lines.all)")
    }

    /// A client of this build facing a coordinator that speaks only protocol 9 (release 0.1.0)
    /// joins with 9 after the refusal of 10, says so, and takes part in every round.
    @Test func aClientFacingAnOlderCoordinatorJoinsWithProtocol9() async throws {
        let silos = Self.silos()
        let said = Recorded()
        let coordinator = try await Self.federate(
            silos,
            events: { name, event in if case .popularity(let line) = event, name == "s2" { said.add(line) } },
            link: { link in
                guard link.client == "s2" else { return link }
                // A coordinator of protocol 9 only: Join of any other version refused as release 0.1.0 refuses it.
                return JoinInterceptingLink(
                    inner: link,
                    join: { version, examples, inner in
                        guard version == 9 else { throw CoordinatorError.protocolMismatch("s2", speaks: version, coordinator: [9]) }
                        return try await inner.join(protocolVersion: version, trainExamples: examples)
                    })
            })
        let history = await coordinator.history
        #expect(history.count == 2 && history.allSatisfy { Set($0.participants) == ["s0", "s1", "s2"] && $0.evaluatedClients == 3 })
        #expect(await coordinator.popularityBaseline.oldProtocol == ["s2"])
        #expect(said.all.contains { $0.hasPrefix("the coordinator speaks an older wire protocol (9): joined with it") }, "\(said.all)")
    }

    /// (c) A silo that declines (`join --no-share-popularity`) gets no baseline; the others'
    /// counts are pooled and scored.
    @Test func aSiloThatDeclinesGetsNoBaselineAndTheOthersArePooled() async throws {
        let silos = Self.silos()
        let scored = Recorded()
        let coordinator = try await Self.federate(
            silos,
            events: { name, event in if case .popularityScored = event { scored.add(name) } },
            work: { Self.work($0, shares: $0.name != "s1") })
        #expect(await coordinator.history.count == 2)
        let served = await coordinator.popularityBaseline
        #expect(served.pooledFrom == ["s0", "s2"] && served.declined == ["s1"] && served.scoredBy == ["s0", "s2"])
        #expect(served.sums == Self.expected(pooled: [silos[0], silos[2]], scored: [silos[0], silos[2]]))
        #expect(scored.all.sorted() == ["s0", "s2"], "each scored it once")
    }

    /// A silo that requires secure aggregation or differential privacy, or keeps a budget of
    /// its own, declines whatever the coordinator runs: its counts would leave it in the clear.
    @Test func aSiloThatRequiresPrivacyDeclinesToShareItsCounts() throws {
        let silo = Self.silos()[0]
        let ledgers = [
            try SiloPrivacyLedger(requireSecureAggregation: true), try SiloPrivacyLedger(requirePrivacy: true),
            try SiloPrivacyLedger(budget: 8),
        ]
        for ledger in ledgers {
            let work = SiloWork(train: silo.train, test: silo.test, privacy: ledger)
            #expect(work.popularityCounts(for: Self.model) == nil)
        }
        #expect(SiloWork(train: silo.train, test: silo.test).popularityCounts(for: Self.model) != nil)
    }

    /// Under the default minimum of 3, two silos sharing get no pool: with two, each could
    /// subtract its own counts from it and read the other's exactly.
    @Test func twoSharingSilosGetNoPoolUnderTheDefaultMinimum() async throws {
        let silos = Self.silos()
        let scored = Recorded()
        let coordinator = try await Self.federate(
            silos, config: CoordinatorConfig(rounds: 2, minClients: 3),
            events: { name, event in if case .popularityScored = event { scored.add(name) } },
            work: { Self.work($0, shares: $0.name != "s1") })
        #expect(await coordinator.history.count == 2)
        let served = await coordinator.popularityBaseline
        #expect(served.status == .tooFewSilos && !served.isMeasured && served.pooledFrom == ["s0", "s2"], "\(served.line)")
        #expect(served.line.contains("only 2 silos shared item counts"), "\(served.line)")
        #expect(scored.all.isEmpty, "no silo was handed the pool")
        #expect(CoordinatorConfig().popularityMinimumSilos == 3)
    }

    /// (d) Counts no silo could have are refused naming the silo and what is wrong, and the
    /// federation carries on without them.
    @Test func refusedCountsNameTheSiloAndTheFederationCarriesOn() async throws {
        let coordinator = try Coordinator(
            modelConfig: Fixtures.tinyConfig, config: CoordinatorConfig(rounds: 1, minClients: 5), initialModel: try Fixtures.tinyModel())
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 100)
        let refused: [(PopularityCounts, String)] = [
            (PopularityCounts(items: [7], counts: [1]), "item 7 is not an item row of the model (1 to 6"),
            (PopularityCounts(items: [0, 2], counts: [1, 1]), "item 0 is not an item row of the model"),
            (PopularityCounts(items: [3, 2], counts: [1, 1]), "item 2 is not above the item before it (3)"),
            (PopularityCounts(items: [2], counts: [0]), "item 2 has a count of 0"),
            (PopularityCounts(items: [1, 2], counts: [60, 41]), "add up past the 100 training examples it declared at Join"),
            (PopularityCounts(items: [1, 2], counts: [.max, .max]), "add up past the 100 training examples"),
            (PopularityCounts(items: [1], counts: [1, 2]), "1 items but 2 counts"),
            (PopularityCounts(items: [], counts: []), "no items, and no decline"),
        ]
        for (counts, words) in refused {
            let error = await #expect(throws: CoordinatorError.self) { try await coordinator.sharePopularity(client: "a", counts: counts) }
            #expect(error?.kind == .invalidRequest && error?.message.contains("popularity counts from 'a'") == true, "\(String(describing: error))")
            #expect(error?.message.contains(words) == true, "\(String(describing: error)): \(words)")
        }
        await #expect(throws: CoordinatorError.notJoined("z")) { try await coordinator.sharePopularity(client: "z", counts: nil) }
        // Nothing refused changed the pool; the silo may still share, once.
        let first = try await coordinator.sharePopularity(client: "a", counts: PopularityCounts(items: [1, 4], counts: [30, 70]))
        #expect(first.pooled)
        let second = try await coordinator.sharePopularity(client: "a", counts: PopularityCounts(items: [2], counts: [1]))
        #expect(!second.pooled)
        let pool = await coordinator.popularityBaseline
        #expect(pool.status == .pooling && pool.pooledFrom == ["a"] && pool.items == 2)

        // In a federation: the silo whose counts are refused is told, carries on, and is left out.
        let silos = Self.silos()
        let told = Recorded()
        let federation = try await Self.federate(
            silos, events: { name, event in if case .popularity(let what) = event, name == "s2" { told.add(what) } },
            link: { link in link.client == "s2" ? BadCountsLink(inner: link) as any FederationLink : link })
        #expect(await federation.history.count == 2)
        #expect(told.all.contains { $0.contains("item counts not taken: popularity counts from 's2': item") }, "\(told.all)")
        let served = await federation.popularityBaseline
        #expect(served.pooledFrom == ["s0", "s1"] && served.scoredBy == ["s0", "s1"] && served.declined.isEmpty)
    }

    /// (e) Under differential privacy (DP-SGD or DP-FedAvg, with secure aggregation or not) no
    /// counts are pooled: exact counts would spend no privacy budget; a share is refused, and
    /// the history says why.
    @Test func underDifferentialPrivacyNoCountsArePooled() async throws {
        var server = ServerOptimizer(rule: .dpFedAvg)
        (server.clipNorm, server.noiseMultiplier) = (1, 2)
        let dp = CoordinatorConfig(rounds: 1, minClients: 1, server: server)
        #expect(PopularityPolicy(dp) == .offDifferentialPrivacy)
        var secureDP = CoordinatorConfig(rounds: 1, minClients: 3, examplePrivacy: ExamplePrivacy(noise: .multiplier(1)))
        secureDP.secureAggregation = SecureAggregationSettings()
        #expect(PopularityPolicy(secureDP) == .offDifferentialPrivacy)
        #expect(PopularityPolicy(CoordinatorConfig()) == .on)
        let privateOne = try Coordinator(modelConfig: Fixtures.tinyConfig, config: dp, initialModel: try Fixtures.tinyModel())
        try await privateOne.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 100)
        await #expect(throws: CoordinatorError.self) { try await privateOne.sharePopularity(client: "a", counts: nil) }
        #expect(await privateOne.popularityBaseline.whyNotMeasured?.hasPrefix("not measured under differential privacy") == true)
        #expect(privateOne.popularityPolicy(protocolVersion: 11) == .offDifferentialPrivacy)
        #expect(privateOne.popularityPolicy(protocolVersion: 9) == .unspecified)
    }

    /// (f) A client of protocol 8 (or 12) is refused naming its version and the three this
    /// coordinator speaks; one of 9 is admitted.
    @Test func aClientOfAnUnknownVersionIsRefusedNamingTheVersionsSpoken() async throws {
        #expect(Coordinator.protocolVersions == [11, 10, 9] && Coordinator.protocolVersion == 11)
        #expect(Coordinator.olderClientProtocols == [10, 9])
        let coordinator = try Coordinator(
            modelConfig: Fixtures.tinyConfig, config: CoordinatorConfig(rounds: 1, minClients: 5), initialModel: try Fixtures.tinyModel())
        for version: UInt32 in [8, 12] {
            let error = await #expect(throws: CoordinatorError.self) {
                try await coordinator.join(client: "old", protocolVersion: version, trainExamples: 100)
            }
            #expect(error == CoordinatorError.protocolMismatch("old", speaks: version, coordinator: [11, 10, 9]))
            #expect(
                error?.message == "protocol version mismatch: client 'old' speaks version \(version); this coordinator speaks versions 11, 10 and 9",
                "\(String(describing: error))")
        }
        try await coordinator.join(client: "nine", protocolVersion: 9, trainExamples: 100)
        #expect(await coordinator.connectedClients == ["nine"])
        let error = await #expect(throws: CoordinatorError.self) { try await coordinator.sharePopularity(client: "nine", counts: nil) }
        #expect(error?.message.contains("joined with wire protocol 9") == true, "\(String(describing: error))")
        // A client of 10 in a federation without secure aggregation shares as one of 11 does.
        try await coordinator.join(client: "ten", protocolVersion: 10, trainExamples: 100)
        #expect(try await coordinator.sharePopularity(client: "ten", counts: PopularityCounts(items: [1], counts: [2])).pooled)
        #expect(coordinator.popularityPolicy(protocolVersion: 10) == .on && coordinator.popularityPolicy(protocolVersion: 11) == .on)
        #expect(await coordinator.popularityBaseline.oldProtocol == ["nine"])
    }

    /// The pool and the sums kept in the state folder read back as they were written (a
    /// pool made in the clear, then one made by a secure sum, which replaces it).
    @Test func theStoredPoolReadsBackAsWritten() throws {
        let store = try StateStore(folder: try Fixtures.temporaryFolder())
        #expect(try store.popularity() == nil)
        let counts = PopularityCounts(items: [1, 7, 4_000_000], counts: [3, 1 << 40, 2])
        let pool = StoredPopularity(
            status: .pooled, pooledFrom: ["a", "b"], declined: ["c"], oldProtocol: ["d"], items: 3, counts: counts, sums: [:])
        try store.storePopularityPool(pool)
        let sums = RankingSums(users: 10, hits: 4, ndcgSum: 2.25, catalogueUsers: 10, hitsAt20: 3, ndcgAt20Sum: 1.5)
        try store.storePopularitySums(client: "a", round: 2, sums: sums)
        var expected = pool
        expected.sums = ["a": sums]
        #expect(try store.popularity() == expected)
        #expect(expected.baseline.isMeasured && expected.baseline.sums == sums && expected.baseline.scoredBy == ["a"])
        #expect(try store.popularity()?.summedSecurely == false)

        let secure = StoredPopularity(
            status: .pooled, pooledFrom: [], declined: [], oldProtocol: ["e"], items: 3, counts: counts, sums: [:], summedSecurely: true,
            summedOver: ["a", "b", "c", "d"], sharedBy: 3)
        try store.storePopularityPool(secure)
        var kept = secure
        kept.sums = ["a": sums]
        #expect(try store.popularity() == kept)
        #expect(kept.baseline.line.hasPrefix("most popular items (counts securely summed over 3 silos, scored by 1 silo): "), "\(kept.baseline.line)")
        #expect(kept.baseline.line.hasSuffix("; no counts from e (protocol before 11)"), "\(kept.baseline.line)")
        // A secure pool not yet summed is kept too (so that `history` says why there is none).
        let waiting = StoredPopularity(
            status: .pooling, pooledFrom: [], declined: [], oldProtocol: [], items: 0, counts: nil, sums: [:], summedSecurely: true)
        try store.storePopularityPool(waiting)
        #expect(try store.popularity()?.baseline.whyNotMeasured?.hasPrefix("not measured yet: the counts are summed securely") == true)
    }
}
