import FedAttnAggregation
import FedAttnCore
import Testing

/// Robust rules bound what one hostile update can do; on honest updates they stay near the mean.
struct RobustAggregationTests {
    static let layout = FedAvgTests.layout

    /// Five honest clients near (1, 1) on the dense tensor and on table row 1, and one hostile
    /// client far away (its row 2 only it sends).
    static func round(hostile: [Float], examples: Int = 10) -> UpdateAccumulator {
        var round = UpdateAccumulator(layout: layout, tables: ["table"], keepingUpdates: true)
        for (i, jitter) in [Float(-0.02), -0.01, 0, 0.01, 0.02].enumerated() {
            round.add(FedAvgTests.update("h\(i)", 10, [0, 0, 1 + jitter, 1 - jitter, 0, 0, 1 + jitter, 1 - jitter]))
        }
        round.add(FedAvgTests.update("x", examples, hostile))
        return round
    }

    static func step(_ rule: RobustAggregation.Rule, _ round: UpdateAccumulator) throws -> Weights {
        var strategy = RobustAggregation(rule: rule)
        var model = Weights(zerosLike: layout)
        _ = try #require(strategy.aggregate(round, into: &model))
        return model
    }

    @Test(arguments: [
        RobustAggregation.Rule.median, .trimmedMean(fraction: 0.2), .krum(byzantine: 1, selected: 0), .krum(byzantine: 1, selected: 1),
    ])
    func aHundredfoldUpdateMovesTheModelNoFurtherThanTheHonestOnes(rule: RobustAggregation.Rule) throws {
        let hostile: [Float] = [0, 0, 100, 100, 50, 50, 100, 100]
        let model = try Self.step(rule, Self.round(hostile: hostile))
        // Row 1 and the dense tensor stay within the honest clients' spread.
        for j in [2, 3, 6, 7] { #expect(abs(model.values[j] - 1) <= 0.03, "\(rule): value \(j) is \(model.values[j])") }
        // Row 2, sent by the hostile client alone: the median and trimmed mean of one value is
        // that value (the price of aggregating a row over the clients that sent it); Krum left
        // the hostile update out, so the row does not move.
        if case .krum = rule {
            #expect(model.values[4] == 0 && model.values[5] == 0)
        } else {
            #expect(model.values[4] == 50 && model.values[5] == 50)
        }
    }

    @Test func aSignFlippedUpdateIsOutvotedAndAnInflatedCountGainsNothing() throws {
        let flipped: [Float] = [0, 0, -1, -1, 0, 0, -1, -1]
        for rule in [RobustAggregation.Rule.median, .trimmedMean(fraction: 0.2), .krum(byzantine: 1, selected: 0)] {
            let model = try Self.step(rule, Self.round(hostile: flipped, examples: 1_000_000))
            #expect(abs(model.values[6] - 1) <= 0.03 && abs(model.values[2] - 1) <= 0.03, "\(rule): \(model.values)")
        }
    }

    @Test func tooFewUpdatesToOutvoteOnePublishNothing() {
        var round = UpdateAccumulator(layout: Self.layout, tables: ["table"], keepingUpdates: true)
        round.add(FedAvgTests.update("x", 10, [0, 0, 100, 100, 0, 0, 100, 100]))
        round.add(FedAvgTests.update("h", 10, [0, 0, 1, 1, 0, 0, 1, 1]))
        for rule in [RobustAggregation.Rule.median, .trimmedMean(fraction: 0.1), .krum(byzantine: 1, selected: 0)] {
            var strategy = RobustAggregation(rule: rule)
            var model = Weights(zerosLike: Self.layout)
            #expect(strategy.aggregate(round, into: &model) == nil, "\(rule)")
            #expect(model.values.allSatisfy { $0 == 0 })
        }
    }

    @Test func theNormBoundScalesEachUpdateDownToIt() throws {
        let model = try Self.step(.normBounded(bound: 2), Self.round(hostile: [0, 0, 300, 400, 0, 0, 0, 0]))
        // The hostile update (norm 500) counts as (1.2, 1.6); the honest ones (norm 2) pass.
        #expect(abs(model.values[2] - (5 * 1 + 1.2) / 6) < 1e-3, "\(model.values)")
        #expect(abs(model.values[3] - (5 * 1 + 1.6) / 6) < 1e-3, "\(model.values)")
    }

    @Test func trimmedMeanDropsFromBothEndsAndFallsBackToTheMedian() {
        #expect(RobustAggregation.trimmedMean([1, 2, 3, 4, 100], fraction: 0.2) == 3)
        #expect(RobustAggregation.trimmedMean([5, -50], fraction: 0.1) == -22.5)  // nothing left after trimming: the median
        #expect(RobustAggregation.median([4, 1, 3, 2]) == 2.5)
    }
}
