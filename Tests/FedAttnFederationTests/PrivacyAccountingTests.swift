import FedAttnAggregation
import FedAttnCore
import FedAttnData
import FedAttnFederation
import FedAttnModel
import FedAttnPrivacy
import FedAttnSimulation
import Testing
import _FedAttnTestSupport

/// Privacy in a federation. Example level: each silo's noise follows from its own examples,
/// the epsilon each round spends is recorded, a silo past its budget trains no more, and a
/// private federation of the MovieLens silos still learns. Client level (DP-FedAvg): each
/// round is accounted at its own sampling rate, and a round that would pass the budget is
/// not started.
struct PrivacyAccountingTests {
    typealias M = RoundStateMachineTests

    static func machine(_ privacy: ExamplePrivacy, examples: [String: Int], rounds: Int) throws -> (RoundStateMachine, [RoundAction]) {
        var machine = RoundStateMachine(
            config: CoordinatorConfig(rounds: rounds, minClients: examples.count, quorum: 1, examplePrivacy: privacy), version: "v0")
        var actions: [RoundAction] = []
        for (client, count) in examples.sorted(by: { $0.key < $1.key }) {
            actions += try machine.handle(.joined(client: client, connection: "conn-\(client)", trainExamples: count), at: .zero)
        }
        return (machine, actions)
    }

    static func privacyPlan(_ machine: RoundStateMachine, _ client: String) -> DPSGDConfig? {
        if case .train(_, _, let plan) = machine.task(for: client) { plan.privacy } else { nil }
    }

    @Test func aTargetEpsilonGivesEachSiloTheNoiseItsOwnSizeNeeds() throws {
        let privacy = ExamplePrivacy(noise: .targetEpsilon(4))
        let (machine, _) = try Self.machine(privacy, examples: ["small": 500, "large": 20_000], rounds: 10)
        let plan = LocalTrainingPlan()
        let small = try #require(Self.privacyPlan(machine, "small")), large = try #require(Self.privacyPlan(machine, "large"))
        #expect(small.noiseMultiplier > large.noiseMultiplier, "a small silo samples at a higher rate: it needs more noise")
        #expect(small.seed == nil, "the coordinator never chooses a silo's noise seed")
        for (examples, config) in [(500, small), (20_000, large)] {
            let spent = privacy.epsilon(examples: examples, noiseMultiplier: Double(config.noiseMultiplier), plan: plan, rounds: 10)
            #expect(spent <= 4 * 1.0001 && spent > 3.9, "\(examples) examples: epsilon \(spent) after the 10 rounds")
        }
    }

    @Test func aSiloPastItsBudgetTrainsNoMoreAndTheRunStops() throws {
        var privacy = ExamplePrivacy(noise: .multiplier(1.5))
        let plan = LocalTrainingPlan()
        let afterTwo = privacy.epsilon(examples: 1_000, noiseMultiplier: 1.5, plan: plan, rounds: 2)
        privacy.epsilonBudget = afterTwo * 1.01  // room for two rounds, not three
        var (machine, _) = try Self.machine(privacy, examples: ["a": 1_000, "b": 1_000], rounds: 5)
        var records: [RoundRecord] = []
        var last: [RoundAction] = []
        for round in 1...2 {
            #expect(M.began(last)?.round == round || round == 1)
            _ = try machine.handle(M.update("a", round: round, base: "v\(round - 1)"), at: .seconds(round))
            _ = try machine.handle(M.update("b", round: round, base: "v\(round - 1)"), at: .seconds(round))
            last = try M.publishAndEvaluate(&machine, round: round, version: "v\(round)", at: .seconds(round))
            records += M.records(last)
        }
        let spent = records.map(\.exampleEpsilon)
        #expect(spent.count == 2)
        #expect(abs((spent[1] ?? 0) - afterTwo) < 1e-9, "recorded \(spent), the accountant says \(afterTwo) after two rounds")
        #expect((spent[0] ?? .infinity) < (spent[1] ?? 0))
        #expect(machine.isDone, "a third round would spend more than the budget")
        #expect(M.logs(last).contains { $0.contains("stopping before round 3") && $0.contains("privacy budget") })
    }

    /// Every silo leaves with no budget left for another round (round 2's first attempt was
    /// its last, and none sent an update): the run ends with a line saying so, and charges no
    /// one for the retry it does not start, instead of waiting for silos that can train no
    /// more (it waited for them forever).
    @Test func whenEverySiloLeavesSpentTheRunEndsAndChargesNothingMore() throws {
        var privacy = ExamplePrivacy(noise: .multiplier(1.5))
        let afterTwo = privacy.epsilon(examples: 1_000, noiseMultiplier: 1.5, plan: LocalTrainingPlan(), rounds: 2)
        privacy.epsilonBudget = afterTwo * 1.01  // room for two round attempts, not three
        let (start, joined) = try Self.machine(privacy, examples: ["a": 1_000, "b": 1_000], rounds: 5)
        var machine = start
        var charges: [PrivacyCharge] = []
        func collect(_ actions: [RoundAction]) { for case .chargePrivacy(let c) in actions { charges += c } }
        collect(joined)
        for client in ["a", "b"] { collect(try machine.handle(M.update(client), at: .seconds(1))) }
        collect(try M.publishAndEvaluate(&machine, round: 1, version: "v1", at: .seconds(1)))
        // Round 2 is handed out (each silo's second attempt, charged); both leave without an update.
        #expect(charges.map(\.client).sorted() == ["a", "a", "b", "b"])
        collect(try machine.handle(.left(client: "a", connection: "conn-a"), at: .seconds(2)))
        #expect(!machine.isDone, "b may still send its update")
        let last = try machine.handle(.left(client: "b", connection: "conn-b"), at: .seconds(2))
        collect(last)
        #expect(machine.isDone, "\(M.logs(last))")
        #expect(
            M.logs(last).contains {
                $0.hasPrefix("stopping before round 2: only 0 of 2 silos can train another round") && $0.contains("privacy budget")
                    && $0.contains("spent: a, b, 0 of them connected")
            }, "\(M.logs(last))")
        #expect(!M.logs(last).contains { $0.contains("waits for clients") }, "\(M.logs(last))")
        #expect(charges.count == 4, "the retry never started is charged to no one: \(charges.map { "\($0.client) \($0.round).\($0.attempt)" })")
        #expect(machine.task(for: "a") == .done(keptVersion: nil))
    }

    /// A spent silo that stays connected is not waited on, but silos away that can still train
    /// are: they may come back (a network blip), and the round runs when they do, without it.
    @Test func silosAwayThatCanStillTrainAreWaitedForBesideASpentOne() throws {
        var privacy = ExamplePrivacy(noise: .multiplier(1.5))
        privacy.epsilonBudget = privacy.epsilon(examples: 1_000, noiseMultiplier: 1.5, plan: LocalTrainingPlan(), rounds: 2) * 1.01
        var machine = RoundStateMachine(config: CoordinatorConfig(rounds: 10, minClients: 2, quorum: 1, examplePrivacy: privacy), version: "v0")
        var last: [RoundAction] = []
        // a's 1,000 examples spend the budget in two rounds; b's and c's 50,000 spend far less a round.
        for (client, count) in [("a", 1_000), ("b", 50_000), ("c", 50_000)] {
            last += try machine.handle(.joined(client: client, connection: "conn-\(client)", trainExamples: count), at: .zero)
        }
        for round in 1...2 {
            let selected = try #require(M.began(last)?.selected, "round \(round) did not begin: \(M.logs(last))")
            for client in selected { _ = try machine.handle(M.update(client, round: round, base: "v\(round - 1)"), at: .seconds(round)) }
            last = try M.publishAndEvaluate(&machine, round: round, version: "v\(round)", at: .seconds(round))
        }
        #expect(M.began(last)?.round == 3)
        #expect(M.began(last)?.selected.sorted() == ["b", "c"], "a is spent: \(M.logs(last))")
        // b and c drop away without an update while a, spent, stays: the round waits for them.
        _ = try machine.handle(.left(client: "b", connection: "conn-b"), at: .seconds(3))
        last = try machine.handle(.left(client: "c", connection: "conn-c"), at: .seconds(3))
        #expect(!machine.isDone, "\(M.logs(last))")
        #expect(M.logs(last).contains("round 3 waits for clients: 0 of 2 needed connected"), "\(M.logs(last))")
        // Back on new connections, round 3 runs again, with them and without a.
        _ = try machine.handle(.joined(client: "b", connection: "conn-b2", trainExamples: 50_000), at: .seconds(4))
        last = try machine.handle(.joined(client: "c", connection: "conn-c2", trainExamples: 50_000), at: .seconds(4))
        #expect(M.began(last)?.round == 3)
        #expect(M.began(last)?.selected.sorted() == ["b", "c"], "\(M.logs(last))")
    }

    /// DP-FedAvg, 2 clients a round: round 1 samples 2 of the 2 joined (q = 1), then 4 are
    /// connected (q = 0.5), and the budget is exactly rounds 1-3 at those rates. When a client
    /// leaves before round 3, its rate would be 2/3 and the run stops rather than overspend;
    /// when none leaves, round 3 runs. Each recorded epsilon composes the rounds' own rates.
    @Test(arguments: [false, true])
    func dpFedAvgStopsBeforeARoundWhoseRisingSamplingRateWouldPassTheBudget(aClientLeaves: Bool) throws {
        var server = ServerOptimizer(rule: .dpFedAvg)
        (server.noiseMultiplier, server.dpDelta) = (2, 1e-3)
        var config = CoordinatorConfig(rounds: 5, minClients: 2, clientsPerRound: 2, quorum: 1, server: server)
        let budget = try #require(config.privacySpent(samplingRates: [1, 0.5, 0.5]))
        #expect(budget > 1, "a budget that means something: \(budget)")
        config.clientEpsilonBudget = budget * 1.001
        var machine = RoundStateMachine(config: config, version: "v0")
        var last: [RoundAction] = []
        for client in ["a", "b", "c", "d"] { last += try machine.handle(.joined(client: client, connection: "conn-\(client)"), at: .zero) }
        var records: [RoundRecord] = []
        for round in 1...2 {
            let selected = try #require(M.began(last)?.selected ?? (round == 1 ? ["a", "b"] : nil))
            for client in selected { _ = try machine.handle(M.update(client, round: round, base: "v\(round - 1)"), at: .seconds(round)) }
            if round == 2 && aClientLeaves { _ = try machine.handle(.left(client: "d", connection: "conn-d"), at: .seconds(round)) }
            last = try M.publishAndEvaluate(&machine, round: round, version: "v\(round)", at: .seconds(round))
            records += M.records(last)
        }
        #expect(records.map(\.dpSamplingRate) == [1, 0.5])
        #expect(abs((records[1].epsilon ?? 0) - (config.privacySpent(samplingRates: [1, 0.5]) ?? 0)) < 1e-12)
        if aClientLeaves {
            #expect(machine.isDone)
            #expect(M.logs(last).contains { $0.contains("stopping before round 3: at sampling rate 0.667 (3 connected)") }, "\(M.logs(last))")
        } else {
            #expect(M.began(last)?.round == 3, "with 4 connected, round 3 fits the budget")
        }
    }

    @Test func aPrivateFederationOfTheMovieLensSilosLearns() async throws {
        let reader = ClickLogReader(items: .catalogue(items: 1682))
        let silos = try SimulatedSilo.load(folder: Fixtures.movieLens("silos/iid-10"), reader: reader, builder: ExampleBuilder())
        var plan = LocalTrainingPlan(epochs: 2, batchSize: 1_024, learningRate: 0.003, proximalMu: 0)
        plan.seed = 1
        let config = CoordinatorConfig(
            rounds: 10, plan: plan, examplePrivacy: ExamplePrivacy(noise: .targetEpsilon(8), clipNorm: 0.7))
        let report = try await Simulation(silos: silos, modelConfig: ModelConfig(), config: config, link: .inProcess).run()
        let spent = report.rounds.compactMap(\.exampleEpsilon)
        #expect(spent.count == 10 && zip(spent, spent.dropFirst()).allSatisfy { $0 < $1 }, "epsilon grows each round: \(spent)")
        #expect((spent.last ?? .infinity) <= 8 * 1.0001)
        let auc = report.rounds.last?.testAUC ?? 0
        #expect(auc > 0.68, "test AUC after 10 private rounds: \(auc)")
    }
}

/// Example-level charges: every round attempt a silo is asked to train is charged (a retried
/// round too), and the charges a state folder holds price a resumed federation the same.
struct PrivacyChargeTests {
    typealias M = RoundStateMachineTests

    @Test func aRetriedRoundIsChargedAgainAndAResumeKeepsTheCharges() throws {
        let privacy = ExamplePrivacy(noise: .multiplier(1.5))
        let config = CoordinatorConfig(rounds: 3, minClients: 2, quorum: 2, roundTimeout: .seconds(10), examplePrivacy: privacy)
        var machine = RoundStateMachine(config: config, version: "v0")
        var charges: [PrivacyCharge] = []
        func collect(_ actions: [RoundAction]) { for case .chargePrivacy(let c) in actions { charges += c } }
        for client in ["a", "b"] {
            collect(try machine.handle(.joined(client: client, connection: "conn-\(client)", trainExamples: 1_000), at: .zero))
        }
        // Only a answers before the deadline: the round is retried, and both are charged again.
        collect(try machine.handle(M.update("a"), at: .seconds(1)))
        collect(try machine.handle(.tick, at: .seconds(11)))
        #expect(charges.map(\.client).sorted() == ["a", "a", "b", "b"] && charges.map(\.attempt).sorted() == [1, 1, 2, 2])
        collect(try machine.handle(M.update("a"), at: .seconds(12)))
        collect(try machine.handle(M.update("b"), at: .seconds(12)))
        let actions = try M.publishAndEvaluate(&machine, round: 1, version: "v1", at: .seconds(13))
        collect(actions)
        let recorded = try #require(M.records(actions).first?.exampleEpsilon)
        let plan = config.plan
        let two = privacy.epsilon(examples: 1_000, noiseMultiplier: 1.5, plan: plan, rounds: 2)
        #expect(abs(recorded - two) < 1e-12, "round 1 cost two attempts: \(recorded) against \(two)")
        // A coordinator resumed from the folder's charges prices the silos the same. The folder
        // holds round 2's first attempt too (begun before the "restart"): the resumed round 2
        // is a second attempt, and charged again.
        #expect(charges.count == 6)
        let record = try #require(M.records(actions).first)
        var resumed = RoundStateMachine(config: config, version: "v1", completedRounds: 1, history: [record], privacyCharges: charges)
        var after: [RoundAction] = []
        for client in ["a", "b"] { after += try resumed.handle(.joined(client: client, connection: "c2-\(client)", trainExamples: 1_000), at: .zero) }
        for client in ["a", "b"] { after += try resumed.handle(M.update(client, round: 2, base: "v1"), at: .seconds(1)) }
        after = try M.publishAndEvaluate(&resumed, round: 2, version: "v2", at: .seconds(2))
        let four = privacy.epsilon(examples: 1_000, noiseMultiplier: 1.5, plan: plan, rounds: 4)
        #expect(abs((M.records(after).first?.exampleEpsilon ?? 0) - four) < 1e-12)
    }

    /// The norm the coordinator expects of a DP-SGD update's noise (to warn at Join that
    /// --max-update-norm would refuse it) is the norm a silo's update has.
    @Test func theExpectedNoiseNormIsTheUpdatesNorm() throws {
        var config = Fixtures.tinyConfig
        config.items = .catalogue(items: 2_000)
        let privacy = ExamplePrivacy(noise: .multiplier(50), clipNorm: 0.5, rowLearningRate: 0.01)
        let plan = LocalTrainingPlan(epochs: 3, batchSize: 2)
        let data = Fixtures.tinyExamples()
        let trainer = PrivateTrainer(
            model: try AttentionModel(config: config, seed: 1), config: TrainingConfig(batchSize: 2),
            privacy: DPSGDConfig(clipNorm: 0.5, noiseMultiplier: 50, rowLearningRate: 0.01, seed: 4))
        for _ in 0..<plan.epochs { trainer.trainEpoch(on: data) }
        let rows = try #require(trainer.delta().densified().tensor(AttentionModel.TensorName.items))
        let measured = rows.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let expected = privacy.expectedNoiseNorm(examples: data.count, plan: plan, noiseMultiplier: 50, tableRows: 2_001, width: config.dim)
        #expect(abs(measured / expected - 1) < 0.05, "measured \(measured), expected \(expected)")
    }

    @Test func theStateFolderKeepsThePrivacyCharges() throws {
        let store = try StateStore(folder: try Fixtures.temporaryFolder())
        let charges = [
            PrivacyCharge(client: "a", round: 1, attempt: 1, examples: 900, spend: .init(samplingRate: 0.25, noiseMultiplier: 1.25, steps: 4)),
            PrivacyCharge(client: "b", round: 1, attempt: 2, examples: 80, spend: .init(samplingRate: 1, noiseMultiplier: 2, steps: 1)),
        ]
        try store.recordPrivacyCharges(charges)
        #expect(try store.privacyCharges() == charges)
        // What `history` shows of them: per silo, attempts charged and epsilon at 1 / its size.
        let perSilo = PrivacyCharge.spentPerSilo(try store.privacyCharges())
        #expect(perSilo["a"]?.rounds == 1 && perSilo["b"]?.examples == 80)
        #expect(perSilo["a"]?.epsilon == PrivacySpend.epsilon(of: [charges[0].spend], delta: 1.0 / 900))
    }
}
