import FedAttnCore
import FedAttnData
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

/// The leave-one-out ranking protocol: each user's last clicked test item against 99 items it
/// never interacted with; HR@10 and NDCG@10.
struct RankingTests {
    static let log = SyntheticGenerator(config: Fixtures.syntheticData).generate()

    @Test func negativesAreDistinctItemsTheUserNeverInteractedWith() {
        let set = ExampleBuilder().rankingSet(Self.log)
        #expect(set.count > 500)
        for user in stride(from: 0, to: set.count, by: 37) {
            let negatives = set.negatives(of: user, seed: 0)
            let own = Set(set.interacted[set.interactedStarts[user]..<set.interactedStarts[user + 1]])
            #expect(negatives.count == RankingSums.negatives)
            #expect(Set(negatives).count == negatives.count)
            #expect(own.isDisjoint(with: negatives))
            #expect(own.contains(set.targets.candidates[user]))
            #expect(negatives.allSatisfy { set.vocabulary.contains($0) })
            #expect(set.negatives(of: user, seed: 0) == negatives)  // the same every round
        }
    }

    @Test func aTrainedModelRanksClickedItemsAboveChanceAndTiesCountAgainstTheItem() throws {
        let set = ExampleBuilder().rankingSet(Self.log)
        let (train, _) = ExampleBuilder().build(Self.log)
        let trainer = LocalTrainer(model: try AttentionModel(config: Fixtures.syntheticConfig, seed: 1), config: TrainingConfig(seed: 1))
        let untrained = trainer.model.rank(set)
        for _ in 0..<3 { _ = trainer.trainEpoch(on: train) }
        let trained = trainer.model.rank(set)
        #expect(trained.users == set.count)
        // Chance is 10/100, which the untrained model scores. A click model trained on
        // impressions learns which shown items get clicked, not which items get shown, so it
        // gains less here than on AUC (deterministic: seeded data, one thread).
        #expect(abs((untrained.hitRate ?? 0) - 0.10) < 0.03, "untrained HR@10 \(untrained.hitRate ?? 0)")
        #expect((trained.hitRate ?? 0) > (untrained.hitRate ?? 1) + 0.025, "HR@10 \(trained.hitRate ?? 0) vs \(untrained.hitRate ?? 0)")
        #expect((trained.ndcg ?? 0) > (untrained.ndcg ?? 1) && (trained.ndcg ?? 1) <= (trained.hitRate ?? 0), "NDCG@10 \(trained.ndcg ?? 0)")
        // A model that scores every item alike ranks each clicked item last: no hits.
        let flat = try AttentionModel(config: Fixtures.syntheticConfig, parameters: Weights(zerosLike: trainer.model.parameters.layout))
        #expect(flat.rank(set).hits == 0)
    }

    @Test func sumsPoolAcrossClients() {
        var a = RankingSums(), b = RankingSums()
        a.add(rank: 0)
        a.add(rank: 50)
        b.add(rank: 3)
        a.merge(b)
        #expect(a.users == 3 && a.hits == 2)
        let expected: Double = (1 + 1 / log2(5.0)) / 3
        #expect(abs((a.ndcg ?? 0) - expected) < 1e-12)
    }
}
