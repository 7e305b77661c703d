import FedAttnAggregation
import FedAttnCore
import FedAttnData
import FedAttnFederation
import FedAttnModel
import FedAttnPrivacy
import FedAttnSimulation
import RealModule
import Testing
import _FedAttnTestSupport

struct EvaluationSummaryTests {
    @Test func histogramAUCMatchesExactAUCWithinItsResolution() throws {
        let (train, test) = Fixtures.syntheticExamples()
        let trainer = LocalTrainer(model: try AttentionModel(config: Fixtures.syntheticConfig, seed: 1), config: TrainingConfig())
        trainer.trainEpoch(on: train)
        let logits = trainer.model.logits(for: test)
        // Split the test examples over three "clients" and merge their summaries.
        var merged = EvaluationSummary()
        for part in 0..<3 {
            let indices = Array(stride(from: part, to: test.count, by: 3))
            merged.merge(EvaluationSummary(logits: indices.map { logits[$0] }, labels: indices.map { test.labels[$0] }))
        }
        let exact = try #require(AUC.exact(scores: logits, labels: test.labels))
        let fromHistograms = try #require(merged.auc)
        #expect(abs(fromHistograms - exact) <= merged.aucResolution + 1e-12)
        #expect(merged.aucResolution < 0.01)
        #expect(
            try #require(merged.logLoss).isApproximatelyEqual(
                to: try #require(LogLoss.fromLogits(logits, labels: test.labels)), relativeTolerance: 1e-9))
        #expect(merged.examples == test.count)
    }
}

struct LocalRoundTests {
    @Test func theDeltaCarriesOnlyTheItemRowsTheSiloSaw() throws {
        let (train, _) = Fixtures.syntheticExamples()
        var few = ExampleSet()
        for i in 0..<300 {
            few.append(candidate: train.candidates[i], strategy: train.strategies[i], label: train.labels[i], history: train.history(i))
        }
        let seen = Set(few.candidates + few.historyItems)
        let global = try AttentionModel(config: Fixtures.syntheticConfig, seed: 2)
        let result = LocalRound.train(global: global, on: few, plan: LocalTrainingPlan())
        let rows = try #require(result.delta.tensors[0].rows)
        #expect(Set(rows) == seen)
        #expect(result.examples == 300)
    }

    @Test func theProximalTermKeepsTheClientNearTheGlobalModel() throws {
        let (train, _) = Fixtures.syntheticExamples()
        let global = try AttentionModel(config: Fixtures.syntheticConfig, seed: 2)
        let free = LocalRound.train(global: global, on: train, plan: LocalTrainingPlan(proximalMu: 0))
        let held = LocalRound.train(global: global, on: train, plan: LocalTrainingPlan(proximalMu: 0.05))
        #expect(held.delta.densified().l2Norm < 0.8 * free.delta.densified().l2Norm)
    }
}

struct SimulationTests {
    @Test func aThreeSiloFederationImprovesItsPooledAUC() async throws {
        let log = SyntheticGenerator(config: Fixtures.syntheticData).generate()
        let silos = SiloSplitter(silos: 3, scheme: .iid, seed: 1).split(log).enumerated().map { i, part in
            let (train, test) = ExampleBuilder().build(part)
            return SimulatedSilo(name: "s\(i)", train: train, test: test)
        }
        let simulation = Simulation(silos: silos, modelConfig: Fixtures.syntheticConfig, config: CoordinatorConfig(rounds: 3), link: .inProcess)
        let report = try await simulation.run()
        let aucs = report.rounds.compactMap(\.testAUC)
        #expect(aucs.count == 3)
        #expect(aucs[2] > aucs[0])
        #expect(aucs[2] > 0.62)
        // Deltas travel as changed rows in float16: well under the float32 model.
        #expect(report.rounds.allSatisfy { Double($0.bytesUpPerClient) < 0.75 * Double(report.modelBytesFloat32) })
    }

    @Test func aSiloScalingItsUpdateAHundredfoldIsOutvotedByKrumButNotByTheMean() async throws {
        let log = SyntheticGenerator(config: Fixtures.syntheticData).generate()
        let silos = SiloSplitter(silos: 5, scheme: .iid, seed: 1).split(log).enumerated().map { i, part in
            SimulatedSilo(name: "s\(i)", log: part, builder: ExampleBuilder(), validationFraction: 0.1)
        }
        func finalAUC(_ server: ServerOptimizer, _ attack: Attack) async throws -> Double {
            let simulation = Simulation(
                silos: silos, modelConfig: Fixtures.syntheticConfig, config: CoordinatorConfig(rounds: 3, server: server), link: .inProcess,
                hostile: (1, attack))
            let report = try await simulation.run()
            #expect(report.rounds.count == 3)
            return try #require(report.finalAUC)
        }
        let krum = ServerOptimizer(rule: .krum)
        let (clean, attacked) = (try await finalAUC(krum, .none), try await finalAUC(krum, .scale(100)))
        #expect(abs(clean - attacked) < 0.01, "Krum: clean \(clean), attacked \(attacked)")
        let mean = try await finalAUC(ServerOptimizer(rule: .fedavg), .scale(100))
        #expect(mean < clean - 0.03, "the mean under the same attack: \(mean) against \(clean)")
    }

    @Test func aSiloForgingItsEvaluationsNeitherChoosesTheKeptRoundNorSetsTheFigures() async throws {
        let log = SyntheticGenerator(config: Fixtures.syntheticData).generate()
        let silos = SiloSplitter(silos: 5, scheme: .iid, seed: 1).split(log).enumerated().map { i, part in
            SimulatedSilo(name: "s\(i)", log: part, builder: ExampleBuilder(), validationFraction: 0.1)
        }
        func run(_ attack: Attack) async throws -> SimulationReport {
            try await Simulation(
                silos: silos, modelConfig: Fixtures.syntheticConfig, config: CoordinatorConfig(rounds: 5), link: .inProcess, hostile: (1, attack)
            ).run()
        }
        // The same training in all three (the hostile silo trains honestly): only what s4
        // reports differs. In the clean run it reports nothing.
        let clean = try await run(.none)
        let cleanKept = try #require(clean.best?.round)
        try #require(cleanKept > 1, "the model improves after round 1 (kept \(cleanKept)), or the test shows nothing")
        for attack in [Attack.forgeEvaluationHigh, .forgeEvaluationLow] {
            let forged = try await run(attack)
            let kept = try #require(forged.best)
            #expect(kept.round != 1, "\(attack): the forger chose round 1")
            let honest = try #require(forged.keptOnHonestSilos?.test.auc), cleanAUC = try #require(clean.best?.testAUC)
            #expect(abs(honest - cleanAUC) < 0.01, "\(attack): kept model's test AUC \(honest) on the honest silos, clean run's \(cleanAUC)")
            // Each round's figures are the honest silos' (the forger is left out where it forges).
            for (round, cleanRound) in zip(forged.rounds, clean.rounds) {
                let (a, b) = (try #require(round.testAUC), try #require(cleanRound.testAUC))
                #expect(abs(a - b) < 0.01, "\(attack) round \(round.round): test AUC \(a), clean \(b)")
            }
            let named = forged.rounds.filter { !$0.disputes.isEmpty }.map(\.round)
            #expect(named.contains(attack == .forgeEvaluationHigh ? 1 : 2), "\(attack): disputes in rounds \(named)")
            #expect(forged.rounds.flatMap(\.disputes).allSatisfy { $0.hasPrefix("s4") }, "\(forged.rounds.flatMap(\.disputes))")
        }
    }

    /// The built-in synthetic log cut into 4 iid silos.
    static func fourSyntheticSilos() -> [SimulatedSilo] {
        let log = SyntheticGenerator(config: Fixtures.syntheticData).generate()
        return SiloSplitter(silos: 4, scheme: .iid, seed: 1).split(log).enumerated().map { i, part in
            let (train, test) = ExampleBuilder().build(part)
            return SimulatedSilo(name: "s\(i)", train: train, test: test)
        }
    }

    @Test func dpFedAvgRecordsTheEpsilonEachRoundSpends() async throws {
        let silos = Self.fourSyntheticSilos()
        var server = ServerOptimizer(rule: .dpFedAvg)
        (server.clipNorm, server.noiseMultiplier) = (1, 2)
        let simulation = Simulation(
            silos: silos, modelConfig: Fixtures.syntheticConfig, config: CoordinatorConfig(rounds: 3, server: server), link: .inProcess)
        let report = try await simulation.run()
        // Every silo every round (q = 1), delta = 1 / 4 silos: the accountant's figure after r rounds.
        let expected = (1...3).map { rounds in
            var accountant = RDPAccountant()
            accountant.compose(samplingRate: 1, noiseMultiplier: 2, steps: rounds)
            return accountant.epsilon(delta: 0.25).epsilon
        }
        let recorded = report.rounds.compactMap(\.epsilon)
        #expect(recorded.count == 3)
        for (got, want) in zip(recorded, expected) { #expect(abs(got - want) < 1e-9, "\(recorded) vs \(expected)") }
        #expect(recorded[0] < recorded[1] && recorded[1] < recorded[2])
    }

    /// Client-level DP wraps another rule (DP-FedAdam): the accountant counts its rounds as
    /// DP-FedAvg's, the history names the wrapped rule, and every round publishes a model.
    @Test func clientLevelDPAroundFedAdamIsAccountedAndPublishesEveryRound() async throws {
        let silos = Self.fourSyntheticSilos()
        var server = ServerOptimizer(rule: .fedadam)
        (server.clipNorm, server.noiseMultiplier, server.clientLevelDP) = (1, 0.5, true)
        let strategy = server.makeStrategy()
        #expect(strategy.name.hasPrefix("dp-fedadam") && strategy is DPFedAvg, "\(strategy.name)")
        let simulation = Simulation(
            silos: silos, modelConfig: Fixtures.syntheticConfig, config: CoordinatorConfig(rounds: 3, server: server), link: .inProcess)
        let report = try await simulation.run()
        var accountant = RDPAccountant()
        accountant.compose(samplingRate: 1, noiseMultiplier: 0.5, steps: 3)
        let epsilon = try #require(report.rounds.last?.epsilon)
        #expect(abs(epsilon - accountant.epsilon(delta: 0.25).epsilon) < 1e-9)
        // Every round published a new model, evaluated by every silo; how far it learns under
        // noise this size (unseeded, from the system's generator) is no test's business.
        #expect(report.strategy.hasPrefix("dp-fedadam"), "\(report.strategy)")
        #expect(Set(report.records.map(\.modelVersion)).count == 3)
        #expect(report.rounds.allSatisfy { $0.evaluatedClients == 4 && $0.testAUC?.isFinite == true }, "\(report.rounds.map(\.line))")
    }
}
