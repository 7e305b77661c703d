import FedAttnFederation
import FedAttnModel
import FedAttnSimulation
import Foundation
import Testing
import _FedAttnTestSupport

/// The round kept is the one with the best pooled validation AUC; with a patience the
/// federation stops when it stops improving, and a coordinator resumed on its folder keeps
/// the same choice.
struct ModelSelectionTests {
    /// A validation summary whose AUC is `auc` (a share of 100 x 100 pairs ordered right).
    static func validation(auc: Double) -> EvaluationSummary {
        // Positives at logit 1, negatives split between -1 (below) and 2 (above).
        let below = Int((auc * 100).rounded())
        let logits = [Float](repeating: 1, count: 100) + [Float](repeating: -1, count: below) + [Float](repeating: 2, count: 100 - below)
        let labels = [Float](repeating: 1, count: 100) + [Float](repeating: 0, count: 100)
        return EvaluationSummary(logits: logits, labels: labels)
    }

    static func report(auc: Double?) -> EvaluationReport {
        EvaluationReport(validation: auc.map { validation(auc: $0) } ?? EvaluationSummary())
    }

    /// Runs the next rounds on a one-client machine, the client reporting the AUCs in turn,
    /// until it is done or the AUCs run out; returns every action.
    static func run(_ machine: inout RoundStateMachine, aucs: [Double?]) throws -> [RoundAction] {
        var actions: [RoundAction] = []
        for auc in aucs where !machine.isDone {
            let round = machine.completedRounds + 1
            let base = machine.version
            actions += try machine.handle(
                .update(UpdateArrival(client: "a", round: round, baseVersion: base, examples: 10, bytes: 1, trainSeconds: 0)), at: .zero)
            actions += try machine.handle(.published(round: round, version: "v\(round)"), at: .zero)
            actions += try machine.handle(.evaluation(client: "a", round: round, version: "v\(round)", report: report(auc: auc)), at: .zero)
        }
        return actions
    }

    static func machine(rounds: Int, patience: Int, history: [RoundRecord] = []) throws -> RoundStateMachine {
        var machine = RoundStateMachine(
            config: CoordinatorConfig(rounds: rounds, minClients: 1, patience: patience), version: "v\(history.count)",
            completedRounds: history.count, history: history)
        _ = try machine.handle(.joined(client: "a", connection: "one"), at: .zero)
        return machine
    }

    @Test func theBestValidationRoundIsKeptAndPatienceStopsTheFederation() throws {
        var machine = try Self.machine(rounds: 10, patience: 2)
        let actions = try Self.run(&machine, aucs: [0.60, 0.70, 0.65, 0.70, 0.68, 0.90])
        let kept = actions.compactMap { if case .keepBest(let round) = $0 { round } else { nil } }
        #expect(kept == [1, 2])  // round 4 equals round 2: the first is kept
        #expect(machine.isDone)
        #expect(machine.completedRounds == 4)  // rounds 3 and 4 did not improve: stopped, round 5 never trained
        #expect(actions.contains(.finish))
        let records = actions.compactMap { if case .record(let record) = $0 { record } else { nil } }
        #expect(records.map(\.round) == [1, 2, 3, 4])
        #expect(abs((records[1].validationAUC ?? 0) - 0.70) < 1e-9)
        #expect(
            RoundStateMachineTests.logs(actions).contains {
                $0.hasPrefix("stopping after round 4: the validation AUC has not improved for 2 rounds (best: round 2")
            })
    }

    @Test func withoutPatienceEveryRoundRunsAndRoundsWithoutValidationAreNotKept() throws {
        var machine = try Self.machine(rounds: 4, patience: 0)
        let actions = try Self.run(&machine, aucs: [nil, 0.7, 0.6, 0.5])
        #expect(machine.completedRounds == 4)
        #expect(actions.compactMap { if case .keepBest(let round) = $0 { round } else { nil } } == [2])
    }

    @Test func aResumedMachineRebuildsItsChoiceFromTheHistory() throws {
        var first = try Self.machine(rounds: 10, patience: 3)
        let history = try Self.run(&first, aucs: [0.6, 0.8, 0.7]).compactMap { if case .record(let r) = $0 { r } else { nil } }
        var resumed = try Self.machine(rounds: 10, patience: 3, history: history)
        #expect(resumed.selection.bestRound == 2)
        #expect(resumed.selection.roundsSinceBest == 1)
        // Rounds 4 and 5 do not improve either: the third round since the best stops it.
        let actions = try Self.run(&resumed, aucs: [0.7, 0.75, 0.9])
        #expect(resumed.isDone && resumed.completedRounds == 5, "\(resumed.completedRounds)")
        #expect(!actions.contains { if case .keepBest = $0 { true } else { false } })
    }

    @Test func theStateFolderHoldsTheBestRoundsModelAndARestartRestoresIt() async throws {
        let folder = try Fixtures.temporaryFolder()
        let config = CoordinatorConfig(rounds: 3, minClients: 1)
        let coordinator = try Coordinator(
            modelConfig: Fixtures.tinyConfig, config: config, initialModel: try Fixtures.tinyModel(), store: try StateStore(folder: folder))
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        let aucs = [0.6, 0.8, 0.7]
        while await !coordinator.isDone {
            switch try await coordinator.nextTask(client: "a", longPoll: .seconds(10)) {
            case .train(let round, let version, _):
                try await coordinator.submitUpdate(
                    client: "a", round: round, baseVersion: version, examples: 100, trainSeconds: 0,
                    payload: try ServerOptimizerTests.update(round: round))
            case .evaluate(let round, let version, _):
                try await coordinator.submitEvaluation(client: "a", round: round, version: version, report: Self.report(auc: aucs[round - 1]))
            case .wait, .done, .secure: break
            }
        }
        let best = try Data(contentsOf: URL(fileURLWithPath: folder + "/best.safetensors"))
        #expect(best == (try Data(contentsOf: URL(fileURLWithPath: folder + "/round-002.safetensors"))))
        #expect(best != (try Data(contentsOf: URL(fileURLWithPath: folder + "/round-003.safetensors"))))
        #expect(try StateStore.reading(folder: folder).rounds().map { $0.evaluation?.validationAUC.map { ($0 * 100).rounded() } } == [60, 80, 70])
        // A crash between recording round 2 and linking it: the restart links it.
        let copy = try Fixtures.temporaryFolder()
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name != "lock" && name != "best.safetensors" {
            try FileManager.default.copyItem(atPath: folder + "/" + name, toPath: copy + "/" + name)
        }
        _ = try Coordinator(
            modelConfig: Fixtures.tinyConfig, config: config, initialModel: try Fixtures.tinyModel(), store: try StateStore(folder: copy))
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy + "/best.safetensors")) == best)
    }
}

/// `--select-by ndcg`: the round kept is the one whose model ranks the silos' validation items
/// best, whatever its AUC; a machine resumed on the records keeps the same round.
struct RankingSelectionTests {
    /// Round by round: (validation AUC, validation NDCG@10 over 10 users, or nil: none ranked).
    static func records(_ rounds: [(auc: Double, ndcg: Double?)], selectBy: SelectionMetric) throws -> (RoundStateMachine, [RoundRecord]) {
        var config = CoordinatorConfig(rounds: rounds.count, minClients: 1)
        config.selectBy = selectBy
        var machine = RoundStateMachine(config: config, version: "v0", completedRounds: 0, history: [])
        _ = try machine.handle(.joined(client: "a", connection: "one"), at: .zero)
        var records: [RoundRecord] = []
        for (index, figures) in rounds.enumerated() {
            let round = index + 1, base = machine.version
            _ = try machine.handle(
                .update(UpdateArrival(client: "a", round: round, baseVersion: base, examples: 10, bytes: 1, trainSeconds: 0)), at: .zero)
            _ = try machine.handle(.published(round: round, version: "v\(round)"), at: .zero)
            var report = ModelSelectionTests.report(auc: figures.auc)
            if let ndcg = figures.ndcg { report.validationRanking = RankingSums(users: 10, hits: 10, ndcgSum: 10 * ndcg) }
            let actions = try machine.handle(.evaluation(client: "a", round: round, version: "v\(round)", report: report), at: .zero)
            records += actions.compactMap { if case .record(let record) = $0 { record } else { nil } }
        }
        return (machine, records)
    }

    @Test func theRoundThatRanksBestIsKeptByNDCGAndTheBestClickModelByAUC() throws {
        let rounds: [(auc: Double, ndcg: Double?)] = [(0.70, 0.20), (0.75, 0.25), (0.74, 0.31), (0.73, nil)]
        let (byAUC, _) = try Self.records(rounds, selectBy: .auc)
        #expect(byAUC.selection.bestRound == 2)
        let (byNDCG, records) = try Self.records(rounds, selectBy: .ndcg)
        #expect(byNDCG.selection.bestRound == 3)
        #expect(abs((records[2].validationNDCG ?? 0) - 0.31) < 1e-9 && records[3].validationNDCG == nil)
        // Replayed from the records, as a restarted coordinator or `history` does.
        #expect(ModelSelection(patience: 0, metric: .ndcg, replaying: records).bestRound == 3)
        #expect(ModelSelection(patience: 0, metric: .auc, replaying: records).bestRound == 2)
        #expect(SelectionMetric(settingName: SelectionMetric.ndcg.settingName) == .ndcg && SelectionMetric(settingName: nil) == .auc)
    }
}

/// A round evaluated by fewer silos than another is compared with it on the silos both were
/// evaluated by: a round does not win because weak silos were missing from it.
struct LikeWithLikeSelectionTests {
    static func record(_ round: Int, _ scores: [String: Double]) -> RoundRecord {
        var record = RoundRecord(
            round: round, modelVersion: "v\(round)", participants: scores.keys.sorted(), testAUC: 0.7,
            validationAUC: RoundEvaluations.trimmedMean(Array(scores.values)))
        record.siloScores = scores.mapValues { SiloScores(validationAUC: $0) }
        return record
    }

    @Test func aRoundMissingTheWeakSilosIsNotKeptOverABetterOne() throws {
        // Round 1 by four silos, two of them weak: the trimmed mean (one off each end) 0.61.
        let first = Self.record(1, ["a": 0.70, "b": 0.71, "c": 0.50, "d": 0.52])
        // Round 2 by the two strong ones only: 0.695 on its own, but worse than round 1 on a and b.
        let second = Self.record(2, ["a": 0.69, "b": 0.70])
        #expect(try #require(second.validationAUC) > (first.validationAUC ?? 1))
        #expect(ModelSelection(patience: 0, metric: .auc, replaying: [first, second]).bestRound == 1)
        // Round 3 by the same two, better on both: kept.
        let third = Self.record(3, ["a": 0.72, "b": 0.73])
        #expect(ModelSelection(patience: 0, metric: .auc, replaying: [first, second, third]).bestRound == 3)
    }

    @Test func recordsWithoutSiloFiguresAreComparedByTheirOwnValues() throws {
        var first = Self.record(1, ["a": 0.70, "b": 0.71, "c": 0.50, "d": 0.52])
        var second = Self.record(2, ["a": 0.69, "b": 0.70])
        (first.siloScores, second.siloScores) = ([:], [:])
        #expect(ModelSelection(patience: 0, metric: .auc, replaying: [first, second]).bestRound == 2)
    }
}

struct PartialEvaluationReportTests {
    @Test func aRoundEvaluatedByFewerSilosAndADisputeAreMarkedInTheReport() {
        let full = LikeWithLikeSelectionTests.record(1, ["a": 0.7, "b": 0.7])
        var partial = LikeWithLikeSelectionTests.record(2, ["a": 0.71])
        partial.disputes = ["b reports a validation AUC of 1, the silos' median 0.7; left out of the round's figures"]
        let page = ReportPage(title: "t", rounds: [full, partial].map(ReportRound.init), bestRound: 1, settings: []).html()
        #expect(page.contains("<td>evaluated by 1 of 2 silos; disputed: b reports a validation AUC of 1"))
        #expect(!page.contains("evaluated by 2"))
    }
}
