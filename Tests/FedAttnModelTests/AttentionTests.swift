import FedAttnCore
import FedAttnModel
import RealModule
import Testing
import _FedAttnTestSupport

struct AttentionTests {
    @Test func weightsCoverExactlyTheRealHistoryAndSumToOne() throws {
        let model = try Fixtures.tinyModel()
        let (weights, _) = model.attention(candidate: 3, history: [1, 2, 4])
        #expect(weights.count == 3)
        #expect(weights.allSatisfy { $0 > 0 })
        #expect(Double(weights.reduce(0, +)).isApproximatelyEqual(to: 1, absoluteTolerance: 1e-6))
    }

    @Test func thePaddingRowNeverInfluencesAPrediction() throws {
        // Row 0 is padding: whatever it holds, no history is ever scored against it.
        var model = try Fixtures.tinyModel()
        let data = Fixtures.tinyExamples()
        let before = model.logits(for: data)
        let padding = model.parameters.layout.range(of: AttentionModel.TensorName.items)!.prefix(Fixtures.tinyConfig.dim)
        for i in padding { model.parameters.values[i] = 1_000 }
        #expect(model.logits(for: data) == before)
    }

    @Test func anEmptyHistoryPoolsToZeroAndLeavesTheAttentionMatricesUntouched() throws {
        let model = try Fixtures.tinyModel()
        let (weights, u) = model.attention(candidate: 2, history: [])
        #expect(weights.isEmpty)
        #expect(u.allSatisfy { $0 == 0 })

        var emptyOnly = ExampleSet()
        emptyOnly.append(candidate: 2, strategy: 1, label: 1, history: [Int32]())
        let gradient = model.lossAndGradient(on: emptyOnly).gradient
        #expect(gradient.tensor(AttentionModel.TensorName.query)!.allSatisfy { $0 == 0 })
        #expect(gradient.tensor(AttentionModel.TensorName.key)!.allSatisfy { $0 == 0 })
        // ... while the rest of the model still learns from the example.
        #expect(gradient.tensor(AttentionModel.TensorName.hiddenWeight)!.contains { $0 != 0 })
    }

    @Test func aHistoryOfOneItemGivesThatItemFullWeight() throws {
        let model = try Fixtures.tinyModel()
        let (weights, u) = model.attention(candidate: 1, history: [5])
        #expect(weights == [1])
        let row5 = Array(model.parameters.tensor(AttentionModel.TensorName.items)![(5 * 8)..<(6 * 8)])
        #expect(u == row5)
    }
}

struct ExampleFitTests {
    @Test func examplesOutsideTheModelAreNamed() {
        var set = ExampleSet()
        set.append(candidate: 7, strategy: 0, label: 1, history: [Int32]())
        #expect(set.problem(for: Fixtures.tinyConfig) == "example 0: candidate row 7 is outside 1..<7")
        var badStrategy = ExampleSet()
        badStrategy.append(candidate: 1, strategy: 2, label: 1, history: [Int32]())
        #expect(badStrategy.problem(for: Fixtures.tinyConfig) == "example 0: strategy 2 is outside 0..<2")
        var badHistory = ExampleSet()
        badHistory.append(candidate: 1, strategy: 0, label: 1, history: [3, 0])
        #expect(badHistory.problem(for: Fixtures.tinyConfig) == "a history holds row 0, outside 1..<7")
        #expect(Fixtures.tinyExamples().problem(for: Fixtures.tinyConfig) == nil)
    }

    @Test func aHistoryLongerThanTheModelsKeepsItsLatestItems() throws {
        let model = try Fixtures.tinyModel()  // histories of at most 4
        let long = model.attention(candidate: 2, history: [6, 5, 1, 3, 4, 1])
        let latest = model.attention(candidate: 2, history: [1, 3, 4, 1])
        #expect(long.weights.count == 4)
        #expect(long.weights == latest.weights && long.u == latest.u)
    }
}
