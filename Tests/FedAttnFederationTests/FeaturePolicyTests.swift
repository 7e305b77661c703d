import FedAttnAggregation
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import FedAttnSecAgg
import Testing

/// The optional features' policies, each as the machine or the coordinator asks it: how a
/// round's updates are summed (`RoundSum`), how they are collected (`RoundCollection`), and
/// example-level privacy (`ExamplePrivacyPolicy`).
struct FeaturePolicyTests {
    static let layout = ParameterLayout([
        TensorSpec(name: AttentionModel.TensorName.items, shape: [4, 2]), TensorSpec(name: "w", shape: [3]),
    ])
    static let outcome = RoundOutcome(round: 1, participants: ["a", "b"], examples: 20, bytesUpPerClient: 0, trainSecondsMax: 0)

    static func update(_ client: String, row: Int) -> ClientUpdate {
        var values = [Float](repeating: 0, count: layout.count)
        values[row * 2] = 1
        return ClientUpdate(
            client: client, exampleCount: 10,
            delta: SparseWeights(Weights(layout: layout, values: values), sparseTensors: [AttentionModel.TensorName.items]))
    }

    @Test func aPlainSumFoldsUploadsOnceAndRefusesSecureAnswers() throws {
        var sum = PlainSum()
        sum.begin(layout: Self.layout, keepingUpdates: false, weighting: .examples)
        sum.fold(Self.update("a", row: 1))
        sum.fold(Self.update("b", row: 2))
        let taken = try #require(try sum.take(Self.outcome))
        #expect(taken.clients == ["a", "b"] && taken.rowsSent(tensor: 0) == [1, 2])
        let again = try sum.take(Self.outcome)
        #expect(again == nil, "taken once: the owner holds the sum's only reference")
        #expect(sum.entropy(before: .tick) == nil && sum.retriesWhenNothingPublished && sum.label.isEmpty)
        let refused = #expect(throws: CoordinatorError.self) {
            try sum.expectedMasked(round: 1, attempt: 1, phase: .maskValues, client: "a")
        }
        #expect(refused?.kind == .invalidRequest)
    }

    @Test func aSecureSumDrawsEntropyButForDownloadsAndIsNeverRetried() throws {
        var sum = SecureSum(settings: SecureAggregationSettings(), known: RowSet(rows: 4))
        #expect(sum.entropy(before: .downloaded(client: "a", bytes: 10)) == nil)
        #expect(sum.entropy(before: .tick) != nil)
        #expect(!sum.retriesWhenNothingPublished && sum.label == " + secure aggregation (SecAgg+)")
        // No secure round under way: an answer is stale, and there is no sum to take.
        let stale = #expect(throws: CoordinatorError.self) {
            try sum.expectedMasked(round: 1, attempt: 1, phase: .maskValues, client: "a")
        }
        #expect(stale?.kind == .stale)
        sum.begin(layout: Self.layout, keepingUpdates: false, weighting: .examples)
        sum.fold(Self.update("a", row: 1))  // an upload is never summed under secure aggregation
        #expect(throws: SecAggError.self) { try sum.take(Self.outcome) }
    }

    static func plan(_ clients: [String], _ settings: SecureAggregationSettings) -> SecureRoundPlan {
        let ids = Dictionary(uniqueKeysWithValues: clients.enumerated().map { ($1, $0) })
        let examples = Dictionary(uniqueKeysWithValues: clients.map { ($0, 10) })
        return SecureRoundPlan(
            round: 1, attempt: 1, session: 7, ids: ids, graph: NeighbourGraph(clients: Array(0..<clients.count), k: 2, seed: 1),
            threshold: 2, weighting: .examples, examples: examples, steps: examples)
    }

    /// A phase whose step fails drops the secure round: its answers are stale from then on,
    /// and the machine retries the round with a new plan.
    @Test func aSecurePhaseThatFailsDropsTheSecureRound() throws {
        var sum = SecureSum(settings: SecureAggregationSettings(), known: RowSet(rows: 4))
        sum.beginSecure(Self.plan(["a", "b", "c"], SecureAggregationSettings()), layout: Self.layout, carriesCounts: false)
        #expect(try sum.expectedMasked(round: 1, attempt: 1, phase: .maskIndicators, client: "a")?.count == 4)
        // No masked indicators arrived: fewer than the threshold, the sum cannot be closed.
        #expect(throws: SecAggError.self) { _ = try sum.closeSecure(.maskIndicators) }
        let stale = #expect(throws: CoordinatorError.self) {
            try sum.expectedMasked(round: 1, attempt: 1, phase: .maskIndicators, client: "a")
        }
        #expect(stale?.kind == .stale)
    }

    /// A round whose indicator sum carries the silos' item counts (protocol 11) takes 2V + 1
    /// elements of 32 bits from each silo, and its task says so; a vector of the V indicators
    /// alone (what a client of protocol 10 sends), or of the wrong ring, is refused naming the
    /// silo and what was expected. A round without counts takes V elements of 16 bits.
    @Test func aSumThatCarriesCountsTakesTheLongerVectorAndRefusesAnotherLength() throws {
        let plan = Self.plan(["a", "b", "c"], SecureAggregationSettings())
        var sum = SecureSum(settings: SecureAggregationSettings(), known: RowSet(rows: 4))
        sum.beginSecure(plan, layout: Self.layout, carriesCounts: true)
        let expected = try #require(try sum.expectedMasked(round: 1, attempt: 1, phase: .maskIndicators, client: "a"))
        #expect(expected.count == 9 && expected.bits == 32)
        #expect(sum.secureTask(SecureTask(round: 1, attempt: 1, phase: .maskIndicators), for: "a")?.carriesPopularityCounts == true)
        #expect(sum.secureTask(SecureTask(round: 1, attempt: 1, phase: .maskValues), for: "a")?.carriesPopularityCounts == false)
        for (count, bits) in [(4, 16), (9, 16), (4, 32), (10, 32)] {
            var reply = SecureReply(round: 1, attempt: 1, phase: .maskIndicators)
            reply.masked = [UInt32](repeating: 1, count: count)
            reply.maskedBits = bits
            let refused = #expect(throws: CoordinatorError.self) { try sum.checkSecure(&reply, from: "b") }
            #expect(refused?.kind == .invalidRequest, "\(String(describing: refused))")
            #expect(
                refused?.message == "round 1 masked row indicators from 'b': \(count) ring elements of \(bits) bits, not 9 of 32",
                "\(String(describing: refused))")
        }
        var fits = SecureReply(round: 1, attempt: 1, phase: .maskIndicators)
        fits.masked = [UInt32](repeating: .max, count: 9)
        fits.maskedBits = 32
        try sum.checkSecure(&fits, from: "b")

        var plain = SecureSum(settings: SecureAggregationSettings(), known: RowSet(rows: 4))
        plain.beginSecure(plan, layout: Self.layout, carriesCounts: false)
        let indicators = try #require(try plain.expectedMasked(round: 1, attempt: 1, phase: .maskIndicators, client: "a"))
        #expect(indicators.count == 4 && indicators.bits == 16)
        #expect(plain.secureTask(SecureTask(round: 1, attempt: 1, phase: .maskIndicators), for: "a")?.carriesPopularityCounts == false)
    }

    @Test func uploadedRoundsTrainOnTheClientsGivenAndRefuseSecureAnswers() {
        let uploaded = UploadedUpdates()
        #expect(uploaded.start(round: 1, clients: ["a", "b"], retries: 0, plan: Self.plan) == .start(clients: ["a", "b"], secure: nil, logs: []))
        #expect(uploaded.refuseUpload(from: "a") == nil && uploaded.refuseSecure(from: "a")?.kind == .invalidRequest)
        #expect(uploaded.phaseTimeout(roundTimeout: .seconds(9)) == .seconds(9))
    }

    @Test func secureRoundsNeedThreeClientsSampleToTheRingAndPlaceEachClient() throws {
        // 24-bit values in a 32-bit ring: at most 256 clients a sum.
        let secure = SecureUpdates(settings: SecureAggregationSettings(bits: 24, phaseTimeout: .seconds(5)))
        #expect(
            secure.start(round: 3, clients: ["a", "b"], retries: 0, plan: Self.plan)
                == .wait("round 3 waits for clients: secure aggregation needs 3 or more, 2 can train"))
        let many = (0..<300).map { "s\($0)" }
        guard case .start(let chosen, let sampledPlan, let logs) = secure.start(round: 3, clients: many, retries: 0, plan: Self.plan) else {
            Issue.record("300 clients: the round did not start")
            return
        }
        #expect(chosen.count == 256 && Set(chosen).isSubset(of: Set(many)) && sampledPlan?.ids.count == 256)
        #expect(logs.contains { $0.contains("sums at most 256 clients; sampling them") }, "\(logs)")
        // The sample is the round's and attempt's: the same again, another at a retry.
        #expect(secure.start(round: 3, clients: many, retries: 0, plan: Self.plan) == .start(clients: chosen, secure: sampledPlan, logs: logs))
        guard case .start(let retried, _, _) = secure.start(round: 3, clients: many, retries: 1, plan: Self.plan) else { return }
        #expect(retried != chosen)
        let plan = try #require(sampledPlan)
        let placed = try #require(secure.taskPlan(for: chosen[0], in: plan))
        #expect(placed.id == plan.ids[chosen[0]] && placed.bits == 24 && placed.clients == 256)
        #expect(secure.taskPlan(for: "not-chosen", in: plan) == nil)
        #expect(secure.refuseUpload(from: "a")?.kind == .invalidRequest && secure.refuseSecure(from: "a") == nil)
        #expect(secure.phaseTimeout(roundTimeout: .seconds(300)) == .seconds(5))
    }

    /// Too few silos left within their budget end the run, naming the spent ones; enough do not.
    @Test func underDPSGDTheRunStopsWhenTooFewSilosCanTrainWithinTheirBudget() {
        let dp = DPSGDPolicy(privacy: ExamplePrivacy(noise: .multiplier(1), epsilonBudget: 4))
        let members = [
            "a": RoundStateMachine.Member(order: 0, connection: "c0", trainExamples: 100, exampleNoise: 1),
            "b": RoundStateMachine.Member(order: 1, connection: "c1", trainExamples: 100, exampleNoise: 1),
            "c": RoundStateMachine.Member(order: 2, connection: nil, trainExamples: 100, exampleNoise: 1),
        ]
        let stop = dp.budgetStop(before: 4, members: members, eligible: ["b"], minClients: 3) { $0 != "a" }
        #expect(
            stop
                == "stopping before round 4: only 2 of 3 silos can train another round within the example-level privacy budget "
                + "(epsilon 4.0; spent: a, 1 of them connected), 3 needed; round 4 is not started and no silo is charged for it")
        #expect(dp.budgetStop(before: 4, members: members, eligible: ["a", "b"], minClients: 3) { _ in true } == nil)
        #expect(NoExamplePrivacy().budgetStop(before: 4, members: members, eligible: [], minClients: 3) { _ in false } == nil)
    }

    @Test func withoutExamplePrivacyEverySiloTrainsThePlanAndIsChargedNothing() {
        let none = NoExamplePrivacy()
        let config = CoordinatorConfig()
        #expect(none.plan(config.plan, noise: nil) == config.plan)
        #expect(none.noise(examples: 100, declared: true, client: "a", config: config).noise == nil)
        #expect(none.charge("a", examples: 100, noise: nil, round: 1, attempt: 1, config: config) == nil)
        #expect(none.mayTrain(next: nil, book: PrivacyBook()) && none.largestEpsilon(PrivacyBook()) == nil)
    }

    @Test func underDPSGDASiloWithoutANoiseMultiplierIsNeitherAskedNorCharged() throws {
        let privacy = ExamplePrivacy(noise: .targetEpsilon(8))
        let dp = DPSGDPolicy(privacy: privacy)
        let config = CoordinatorConfig(rounds: 5, examplePrivacy: privacy)
        let undeclared = dp.noise(examples: config.maxTrainExamples, declared: false, client: "a", config: config)
        #expect(undeclared.noise == nil && undeclared.warning?.contains("it will not be asked to train") == true)
        let sigma = try #require(dp.noise(examples: 1_000, declared: true, client: "a", config: config).noise)
        #expect(dp.plan(config.plan, noise: nil) == nil)
        #expect(dp.plan(config.plan, noise: sigma)?.privacy == privacy.trainingConfig(noiseMultiplier: sigma))
        #expect(dp.charge("a", examples: 1_000, noise: nil, round: 1, attempt: 1, config: config) == nil)
        let charge = try #require(dp.charge("a", examples: 1_000, noise: sigma, round: 1, attempt: 1, config: config))
        #expect(dp.mayTrain(next: charge, book: PrivacyBook()) && !dp.mayTrain(next: nil, book: PrivacyBook()))
    }
}
