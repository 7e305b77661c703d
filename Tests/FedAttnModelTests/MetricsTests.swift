import FedAttnModel
import Foundation
import RealModule
import Testing

struct MetricsTests {
    @Test func aucCountsTiesAsOneHalf() throws {
        // Positives score 0.35, 0.8, 0.4; negatives 0.1, 0.4. Of the 6 pairs the positive wins
        // 4 (0.35>0.1, 0.8>0.1, 0.8>0.4, 0.4>0.1), ties 1 (0.4 = 0.4), loses 1: 4.5 / 6.
        let auc = try #require(AUC.exact(scores: [0.1, 0.4, 0.35, 0.8, 0.4], labels: [0, 0, 1, 1, 1]))
        #expect(auc == 0.75)
    }

    @Test func aucOfPerfectInvertedAndConstantScores() throws {
        #expect(AUC.exact(scores: [1, 2, 3, 4], labels: [0, 0, 1, 1]) == 1)
        #expect(AUC.exact(scores: [4, 3, 2, 1], labels: [0, 0, 1, 1]) == 0)
        #expect(AUC.exact(scores: [7, 7, 7, 7], labels: [0, 1, 0, 1]) == 0.5)
    }

    @Test func aucIsUndefinedForOneClass() {
        #expect(AUC.exact(scores: [0.2, 0.9], labels: [1, 1]) == nil)
    }

    @Test func logLossFromLogitsMatchesTheHandComputedValue() throws {
        // logit 0 -> p = 0.5, label 1: ln 2.  logit ln 3 -> p = 0.75, label 0: -ln 0.25 = ln 4.
        let loss = try #require(LogLoss.fromLogits([0, Float(log(3.0))], labels: [1, 0]))
        #expect(loss.isApproximatelyEqual(to: 1.5 * log(2.0), relativeTolerance: 1e-6))
    }

    @Test func logLossStaysFiniteForConfidentMistakes() throws {
        let loss = try #require(LogLoss.fromLogits([200], labels: [0]))
        #expect(loss.isApproximatelyEqual(to: 200, relativeTolerance: 1e-6))
        let clipped = try #require(LogLoss.fromProbabilities([1], labels: [0]))
        #expect(clipped.isApproximatelyEqual(to: -log(1e-7), relativeTolerance: 1e-6))
    }
}
