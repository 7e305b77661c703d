import FedAttnCodec
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

/// What protocol 4 no longer takes on trust: the padding row, rows of dense tensors, a
/// weight larger than the client declared, evaluation counts that disagree.
extension HostileInputTests {
    @Test func thePaddingRowStaysZeroAndOnlyTablesTravelAsRows() async throws {
        let (coordinator, version) = try await Self.openRound()
        guard let padding = await refusal(coordinator, base: version, payload: try Self.payload(padding: 0.5))?.message(if: .invalidUpdate) else {
            Issue.record("a moved padding row was accepted"); return
        }
        #expect(padding == "update from 'a': tensor 'item_embedding' changes row 0, the padding row, which stays zero")
        let rows = try Self.payload(sparse: [AttentionModel.TensorName.items, AttentionModel.TensorName.query])
        guard let dense = await refusal(coordinator, base: version, payload: rows)?.message(if: .invalidUpdate) else {
            Issue.record("a dense tensor sent as rows was accepted"); return
        }
        #expect(dense == "update from 'a': tensor 'attention.query' is sent as rows; only the embedding tables may be")
        #expect(await refusal(coordinator, base: version, payload: try Self.payload()) == nil)
    }

    @Test func anUpdateCannotClaimMoreExamplesThanItsClientDeclared() async throws {
        let (coordinator, version) = try await Self.openRound()
        do {
            try await coordinator.submitUpdate(
                client: "a", round: 1, baseVersion: version, examples: 1_000_000_000_000, trainSeconds: 0, payload: try Self.payload())
            Issue.record("10^12 examples accepted")
        } catch {
            #expect(
                error as? CoordinatorError == .invalidUpdate("update from 'a' claims 1000000000000 training examples, but it declared 1000 at Join"))
        }
        await #expect(throws: CoordinatorError.self) {
            try await coordinator.join(client: "z", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000_000_000_000)
        }
        await #expect(throws: CoordinatorError.self) {
            try await coordinator.join(client: "z", protocolVersion: Coordinator.protocolVersion, trainExamples: 0)
        }
        #expect(await refusal(coordinator, base: version, payload: try Self.payload()) == nil)
    }

    @Test func anEvaluationWhoseCountDisagreesWithItsHistogramsIsRefused() async throws {
        let (coordinator, _) = try await Self.openRound(CoordinatorConfig(rounds: 1, minClients: 2, quorum: 1, roundTimeout: .seconds(120)))
        var positives = [UInt64](repeating: 0, count: EvaluationSummary.bins), negatives = positives
        positives[3000] = 10
        negatives[1000] = 30
        let lying = EvaluationSummary(examples: 4_000, logLossSum: 40 * 0.66, positives: positives, negatives: negatives)
        await #expect(throws: CoordinatorError.invalidRequest("evaluation from 'a' counts 4000 test examples, but its histograms hold 40")) {
            try await coordinator.submitEvaluation(client: "a", round: 1, version: "any", report: EvaluationReport(test: lying))
        }
    }

    @Test func anEvaluationWhoseCountsOverflowIsRefusedNotATrap() async throws {
        let (coordinator, _) = try await Self.openRound()
        var positives = [UInt64](repeating: 0, count: EvaluationSummary.bins)
        positives[0] = .max
        positives[1] = .max
        let hostile = EvaluationSummary(examples: 2, logLossSum: 1, positives: positives, negatives: positives)
        await #expect(throws: CoordinatorError.invalidRequest("evaluation from 'a' counts more than 100000000 test examples (--max-train-examples)"))
        {
            try await coordinator.submitEvaluation(client: "a", round: 1, version: "any", report: EvaluationReport(test: hostile))
        }
        // The validation split's counts are checked the same way.
        await #expect(
            throws: CoordinatorError.invalidRequest("evaluation from 'a' counts more than 100000000 validation examples (--max-train-examples)")
        ) {
            try await coordinator.submitEvaluation(client: "a", round: 1, version: "any", report: EvaluationReport(validation: hostile))
        }
    }

    /// Sums no ranking could give, and more ranked users than the split has clicked rows (a
    /// silo inflating its weight in the pooled figures and in the choice of the kept round).
    @Test func rankingSumsThatCannotBeAreRefused() async throws {
        let (coordinator, _) = try await Self.openRound()
        // 20 clicked rows in each split.
        let twenty = EvaluationSummary(
            logits: [Float](repeating: 0.5, count: 30), labels: [Float](repeating: 1, count: 20) + [Float](repeating: 0, count: 10))
        let floor10 = 1 / log2(11.0)
        let impossible: [(test: RankingSums, validation: RankingSums)] = [
            (RankingSums(users: 10, hits: 11, ndcgSum: 1), RankingSums()), (RankingSums(users: 10, hits: 2, ndcgSum: 3), RankingSums()),
            (RankingSums(users: 1, hits: 1, ndcgSum: .nan), RankingSums()),
            (RankingSums(users: 10, hits: 10, ndcgSum: 10 * floor10 - 0.01), RankingSums()),  // below the least 10 hits can add
            (RankingSums(users: 21, hits: 1, ndcgSum: 1), RankingSums()),  // more users than clicked test rows
            (RankingSums(catalogueUsers: 10, hitsAt20: 11, ndcgAt20Sum: 1), RankingSums()),
            (RankingSums(catalogueUsers: 10, hitsAt20: 2, ndcgAt20Sum: 3), RankingSums()),
            (RankingSums(catalogueUsers: -1), RankingSums()), (RankingSums(catalogueUsers: 1, hitsAt20: 1, ndcgAt20Sum: .infinity), RankingSums()),
            (RankingSums(catalogueUsers: 21), RankingSums()),
            (RankingSums(), RankingSums(users: 21, hits: 21, ndcgSum: 21)),  // the validation split's too
            (RankingSums(), RankingSums(users: 5, hits: 5, ndcgSum: 6)),
        ]
        for (test, validation) in impossible {
            let report = EvaluationReport(test: twenty, validation: twenty, ranking: test, validationRanking: validation)
            let error = await #expect(throws: CoordinatorError.self) {
                try await coordinator.submitEvaluation(client: "a", round: 1, version: "any", report: report)
            }
            #expect(error?.kind == .invalidRequest && error?.message.contains("not possible") == true, "\(String(describing: error))")
        }
    }

    /// Checked by the coordinator itself (not only by the gRPC service), so that every link
    /// takes the same path: a log-loss sum or a training time no figure could be.
    @Test func aLogLossOrATrainingTimeThatIsNotAFigureIsRefusedOnEveryLink() async throws {
        let (coordinator, version) = try await Self.openRound()
        var positives = [UInt64](repeating: 0, count: EvaluationSummary.bins), negatives = positives
        positives[3000] = 10
        negatives[1000] = 30
        for loss in [Double.nan, -1] {
            let report = EvaluationReport(validation: EvaluationSummary(examples: 40, logLossSum: loss, positives: positives, negatives: negatives))
            await #expect(
                throws: CoordinatorError.invalidRequest(
                    "evaluation from 'a' has a validation log-loss sum of \(loss): finite and not negative expected")
            ) {
                try await coordinator.submitEvaluation(client: "a", round: 1, version: "any", report: report)
            }
        }
        for seconds in [Double.nan, -Double.infinity, -1] {
            await #expect(
                throws: CoordinatorError.invalidUpdate("update from 'a' took \(seconds) seconds to train: a time is finite and not negative")
            ) {
                try await coordinator.submitUpdate(
                    client: "a", round: 1, baseVersion: version, examples: 100, trainSeconds: seconds, payload: try Self.payload())
            }
        }
        #expect(await refusal(coordinator, base: version, payload: try Self.payload()) == nil)
    }

    /// A silo cannot raise its weight after the fact by joining again on its live connection.
    @Test func aSecondJoinOnTheSameConnectionCannotChangeTheDeclaredCount() async throws {
        let (coordinator, version) = try await Self.openRound()
        await #expect(
            throws: CoordinatorError.invalidRequest(
                "'a' joined on this connection declaring 1000 training examples, not 100000000; a silo's declared count changes only when it connects again"
            )
        ) {
            try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 100_000_000)
        }
        // The same count again changes nothing; an update claiming more than declared is still refused.
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        #expect(await coordinator.history.isEmpty)
        let error = await refusal(coordinator, base: version, payload: try Self.payload(), examples: 100_000_000)
        #expect(error?.kind == .invalidUpdate || error?.kind == .invalidRequest, "\(String(describing: error))")
    }
}
