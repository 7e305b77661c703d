import FedAttnAggregation
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import FedAttnSimulation
import Foundation
import Testing
import _FedAttnTestSupport

/// The most-popular baseline under secure aggregation (protocol 11): no counts in the clear;
/// each silo puts its train-row counts per item (or zeros, declining) and a shared flag in the
/// first secure round's indicator vector, masked; the coordinator unmasks only their sum and
/// how many shared, once, and the silos score the pooled counts as in the clear. So the
/// figures are the plain federation's and `simulate`'s, to the last bit.
struct SecurePopularityTests {
    /// `rounds` secure rounds (FedAvg, 3 silos), pooling from `minimumSilos`.
    static func secure(rounds: Int, minimumSilos: Int = 3) -> CoordinatorConfig {
        var config = CoordinatorConfig(rounds: rounds, minClients: 3, server: ServerOptimizer(rule: .fedavg))
        config.secureAggregation = SecureAggregationSettings()
        config.popularityMinimumSilos = minimumSilos
        return config
    }

    /// (1) Three silos that all share: round 1's indicator sum carries their counts (logged
    /// once), the pool is their sum (stored; a coordinator resumed on the folder keeps it and
    /// sums no counts again), and the baseline every silo scores equals the plain federation's
    /// and `simulate`'s exactly. A share in the clear is refused.
    @Test func underSecureAggregationTheCountsAreASecureSumAndTheBaselineIsExact() async throws {
        let silos = PopularityTests.silos()
        let folder = try Fixtures.temporaryFolder()
        let lines = LogLines()
        let told = Recorded()
        #expect(PopularityPolicy(Self.secure(rounds: 2)) == .secureSum)
        let coordinator = try await PopularityTests.federate(
            silos, config: Self.secure(rounds: 2), store: try StateStore(folder: folder), logger: lines.logger,
            events: { name, event in if case .popularity(let what) = event, name == "s0" { told.add(what) } })
        #expect(await coordinator.history.count == 2)
        let served = await coordinator.popularityBaseline
        #expect(served.status == .pooled && served.isMeasured && served.summedSecurely, "\(served.line)")
        #expect(served.sharedBy == 3 && served.summedOver == ["s0", "s1", "s2"] && served.pooledFrom.isEmpty)
        #expect(served.scoredBy == ["s0", "s1", "s2"] && served.declined.isEmpty)
        let simulated = SimulatedSilo.popularity(of: silos, model: PopularityTests.model)
        #expect(served.sums == simulated, "secure \(served.sums), simulated \(simulated)")
        let plainFederation = try await PopularityTests.federate(silos)
        let plain = await plainFederation.popularityBaseline
        #expect(plain.isMeasured && served.sums == plain.sums, "secure \(served.sums), plain \(plain.sums)")
        #expect(served.line.hasPrefix("most popular items (counts securely summed over 3 silos, scored by 3 silos): HR@10 "), "\(served.line)")
        let carried = lines.all.filter { $0.contains("its indicator sum carries the silos' item counts") }
        #expect(carried == ["round 1: its indicator sum carries the silos' item counts (a secure sum of popularity)"], "\(lines.all)")
        #expect(
            lines.all.contains { $0.hasPrefix("popularity: item counts of 3 silos summed securely in the secure sum of round 1 over 3 silos") },
            "\(lines.all)")
        #expect(told.all.contains { $0.hasPrefix("item counts to be summed securely") }, "\(told.all)")
        // What the folder keeps: the pool as it closed, the sum of the three silos' counts.
        let kept = try #require(try StateStore.reading(folder: folder).popularity())
        #expect(kept.baseline == served && kept.summedSecurely && kept.sharedBy == 3)
        var dense = [Int](repeating: 0, count: PopularityTests.model.items.rowCount)
        for silo in silos { for item in silo.train.candidates { dense[Int(item)] += 1 } }
        let pooled = try #require(kept.counts)
        #expect(pooled.items == dense.indices.filter { dense[$0] > 0 }.map { Int32($0) } && pooled.counts == dense.filter { $0 > 0 })
        // No counts in the clear under secure aggregation.
        let error = await #expect(throws: CoordinatorError.self) {
            try await coordinator.sharePopularity(client: "s0", counts: PopularityCounts(items: [1], counts: [1]))
        }
        #expect(
            error?.kind == .invalidRequest && error?.message.contains("counts are never sent in the clear") == true, "\(String(describing: error))")

        // Resumed on (a copy of) the folder for a third round: the pool stays, no round carries
        // counts again (a second sum over other silos would subtract into one silo's counts),
        // and no silo scores it again.
        let copy = try Fixtures.temporaryFolder()
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name != "lock" {
            try FileManager.default.copyItem(atPath: folder + "/" + name, toPath: copy + "/" + name)
        }
        let again = LogLines()
        let scored = Counter()
        let resumed = try await PopularityTests.federate(
            silos, config: Self.secure(rounds: 3), store: try StateStore(folder: copy), logger: again.logger,
            events: { _, event in if case .popularityScored = event { scored.increment() } })
        #expect(await resumed.history.count == 3)
        #expect(await resumed.popularityBaseline == served)
        #expect(scored.value == 0)
        #expect(!again.all.contains { $0.contains("carries the silos' item counts") }, "\(again.all)")
    }

    /// (2) A silo that declines says so in the clear (SharePopularity) and sends zeros and a
    /// shared flag of 0: the pool is the others' counts, summed over all three but shared by
    /// two, as the declines say it must be; the declining silo is not handed the pool and
    /// scores nothing. Under the default minimum of 3 no round carries counts only two silos
    /// share: the coordinator never holds such a sum.
    @Test func aSiloThatDeclinesAddsNothingAndThePoolSaysPooledFromTheOthers() async throws {
        let silos = PopularityTests.silos()
        let scored = Recorded()
        let told = Recorded()
        let handed = Recorded()
        let coordinator = try await PopularityTests.federate(
            silos, config: Self.secure(rounds: 2, minimumSilos: 2),
            events: { name, event in
                if case .popularityScored = event { scored.add(name) }
                if case .popularity(let what) = event, name == "s1" { told.add(what) }
            },
            work: { PopularityTests.work($0, shares: $0.name != "s1") },
            link: { link in
                JoinInterceptingLink(inner: link, tasks: { if case .evaluate(_, _, .some) = $0 { handed.add(link.client) } })
            })
        #expect(await coordinator.history.count == 2)
        let served = await coordinator.popularityBaseline
        #expect(served.isMeasured && served.sharedBy == 2 && served.summedOver == ["s0", "s1", "s2"], "\(served.line)")
        #expect(served.declined == ["s1"] && served.scoredBy == ["s0", "s2"])
        #expect(Set(handed.all) == ["s0", "s2"], "the pool went to \(handed.all)")
        #expect(served.sums == PopularityTests.expected(pooled: [silos[0], silos[2]], scored: [silos[0], silos[2]]))
        #expect(served.line.hasPrefix("most popular items (counts securely summed over 2 silos, scored by 2 silos)"), "\(served.line)")
        #expect(scored.all.sorted() == ["s0", "s2"])
        #expect(told.all.contains { $0.hasPrefix("item counts not shared: this silo adds zeros") }, "\(told.all)")

        let folder = try Fixtures.temporaryFolder()
        let few = try await PopularityTests.federate(
            silos, config: Self.secure(rounds: 1), store: try StateStore(folder: folder),
            work: { PopularityTests.work($0, shares: $0.name != "s1") })
        let dropped = await few.popularityBaseline
        #expect(dropped.status == .pooling && !dropped.isMeasured && dropped.summedOver.isEmpty && dropped.sharedBy == 0, "\(dropped.line)")
        #expect(dropped.line.contains("none so far") && dropped.line.hasSuffix("no counts from s1 (declined)"), "\(dropped.line)")
        let stored = try #require(try StateStore.reading(folder: folder).popularity())
        #expect(stored.status == .pooling && stored.counts == nil && stored.summedOver.isEmpty, "no sum of two silos' counts was made")
    }

    /// A silo passing for two sharers (a shared flag of 2, made by adding 1 to its masked flag:
    /// masks cancel additively) is caught: the declines are said in the clear, so the sum must
    /// hold exactly one flag per silo that did not decline; the counts are dropped, no pool
    /// goes out, and the federation trains on.
    @Test func aSharedFlagOfTwoIsCaughtAndNoPoolGoesOut() async throws {
        let silos = PopularityTests.silos()
        let lines = LogLines()
        let coordinator = try await PopularityTests.federate(
            silos, config: Self.secure(rounds: 2, minimumSilos: 2), logger: lines.logger,
            work: { PopularityTests.work($0, shares: $0.name != "s1") },
            link: { link in
                JoinInterceptingLink(
                    inner: link,
                    secure: { reply in
                        var forged = reply
                        if link.client == "s0", reply.phase == .maskIndicators, reply.maskedBits == 32, let flag = reply.masked.indices.last {
                            forged.masked[flag] = reply.masked[flag] &+ 1
                        }
                        return forged
                    })
            })
        #expect(await coordinator.history.count == 2)
        let served = await coordinator.popularityBaseline
        #expect(served.status == .implausibleSum && !served.isMeasured && served.scoredBy.isEmpty, "\(served.line)")
        #expect(lines.all.contains { $0.contains("3 shared flags from 2 silos that did not decline") }, "\(lines.all)")
    }

    /// A coordinator stopped while a sum of the counts was under way (the folder says
    /// `summing`) may have unmasked it: resumed, it never sums them again, and says why.
    @Test func aSumUnderWayWhenTheCoordinatorStoppedIsNeverMadeAgain() async throws {
        let folder = try Fixtures.temporaryFolder()
        try StateStore(folder: folder).storePopularityPool(
            StoredPopularity(
                status: .summing, pooledFrom: [], declined: [], oldProtocol: [], items: 0, counts: nil, sums: [:], summedSecurely: true))
        let lines = LogLines()
        let resumed = try await PopularityTests.federate(
            PopularityTests.silos(), config: Self.secure(rounds: 1), store: try StateStore(folder: folder), logger: lines.logger)
        #expect(await resumed.history.count == 1)
        let baseline = await resumed.popularityBaseline
        #expect(baseline.status == .interrupted && !baseline.isMeasured, "\(baseline.line)")
        #expect(baseline.line.contains("a second sum over other silos could reveal one silo's counts"), "\(baseline.line)")
        #expect(!lines.all.contains { $0.contains("carries the silos' item counts") }, "\(lines.all)")
        #expect(try StateStore.reading(folder: folder).popularity()?.status == .interrupted)
    }

    /// A client of protocol 10 (release 0.2.1) cannot put counts in the indicator vector: it is
    /// told at Join that no counts are summed from it, and no round it takes part in carries
    /// any (each says why); it trains and evaluates as before, and the history says the
    /// baseline is not measured yet.
    @Test func noRoundWithAClientOfProtocol10CarriesCounts() async throws {
        let silos = PopularityTests.silos()
        let lines = LogLines()
        let heard = Recorded()
        let coordinator = try await PopularityTests.federate(
            silos, config: Self.secure(rounds: 1), logger: lines.logger,
            events: { name, event in if case .joined(let info) = event { heard.add("\(name) \(info.popularity.rawValue)") } },
            link: { link in
                guard link.client == "s2" else { return link }
                return JoinInterceptingLink(
                    inner: link, join: { _, examples, inner in try await inner.join(protocolVersion: 10, trainExamples: examples) })
            })
        let history = await coordinator.history
        #expect(history.count == 1 && history.allSatisfy { Set($0.participants) == ["s0", "s1", "s2"] && $0.evaluatedClients == 3 })
        #expect(heard.all.sorted() == ["s0 secure-sum", "s1 secure-sum", "s2 secure-aggregation"], "\(heard.all)")
        let served = await coordinator.popularityBaseline
        #expect(served.status == .pooling && served.summedSecurely && served.oldProtocol == ["s2"] && !served.isMeasured)
        #expect(served.whyNotMeasured?.hasPrefix("not measured yet: the counts are summed securely") == true, "\(served.line)")
        #expect(served.notShared == "; no counts from s2 (protocol before 11)")
        #expect(
            lines.all.contains("client s2 speaks wire protocol 10: no secure round it takes part in carries popularity counts (protocol 11 does)"),
            "\(lines.all)")
        #expect(
            lines.all.contains("round 1: its indicator sum carries no popularity counts: s2 (protocol 10) cannot put counts in it"), "\(lines.all)")
    }
}
