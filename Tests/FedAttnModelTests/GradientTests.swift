import FedAttnCore
import FedAttnModel
import RealModule
import Testing
import _FedAttnTestSupport

/// The hand-written backward pass against central finite differences of an independent
/// Float64 implementation of the model.
struct GradientTests {
    @Test func forwardMatchesTheFloat64Reference() throws {
        let model = try Fixtures.tinyModel()
        let reference = ReferenceModel(model)
        let data = Fixtures.tinyExamples()
        let logits = model.logits(for: data)
        for i in 0..<data.count {
            let expected = reference.logit(candidate: data.candidates[i], history: Array(data.history(i)), strategy: data.strategies[i])
            #expect(Double(logits[i]).isApproximatelyEqual(to: expected, absoluteTolerance: 1e-5, relativeTolerance: 1e-5), "example \(i)")
        }
        #expect(model.lossAndGradient(on: data).loss.isApproximatelyEqual(to: reference.meanLoss(data), relativeTolerance: 1e-5))
        let roles = Fixtures.tinyRoles
        #expect(
            model.lossAndGradient(on: data, roles: roles).loss.isApproximatelyEqual(
                to: reference.meanLoss(data, roles: roles), relativeTolerance: 1e-5))
        // The ranking score is log sigmoid(o_i) + log sigmoid(o).
        let scores = model.rankingScores(for: data)
        for i in 0..<data.count {
            let (o, oi) = reference.logits(candidate: data.candidates[i], history: Array(data.history(i)), strategy: data.strategies[i])
            let expected = -Double.log(onePlus: Double.exp(-o)) - Double.log(onePlus: Double.exp(-oi))
            #expect(Double(scores[i]).isApproximatelyEqual(to: expected, absoluteTolerance: 1e-5, relativeTolerance: 1e-5), "example \(i)")
        }
    }

    /// Tolerance: |analytic - numeric| <= 2e-5 + 1e-3 |numeric| per parameter, the analytic
    /// gradient being Float32 and the numeric one Float64 with step 1e-5. The examples train
    /// both heads (`Fixtures.tinyRoles`: labelled rows, ranked labelled rows, sampled negatives).
    @Test(arguments: AttentionModel.layout(for: Fixtures.tinyConfig).tensors.map(\.name))
    func everyParameterMatchesFiniteDifferences(tensor name: String) throws {
        let model = try Fixtures.tinyModel()
        let data = Fixtures.tinyExamples()
        let analytic = try #require(model.lossAndGradient(on: data, roles: Fixtures.tinyRoles).gradient.tensor(name))
        let numeric = ReferenceModel(model).numericalGradient(of: name, on: data, roles: Fixtures.tinyRoles)
        var largest = 0.0
        for (i, (a, n)) in zip(analytic, numeric).enumerated() {
            #expect(Double(a).isApproximatelyEqual(to: n, absoluteTolerance: 2e-5 + 1e-3 * abs(n)), "\(name)[\(i)]: analytic \(a), numeric \(n)")
            largest = max(largest, abs(n))
        }
        // A tensor whose gradient is all zero would pass trivially; only the padding row may be.
        #expect(largest > 1e-4, "\(name): the gradient check exercised nothing")
    }

    /// DP-SGD's per-example gradients (each whole after its example) add up to the batch's
    /// gradient, whose shared terms (A = W_k^T W_q, the strategy's share of W_1) are summed
    /// once: the same gradient by two routes, to Float32 rounding. At d = 136 the attention
    /// takes W_q and W_k in turn instead of A (`PreparedWeights.usesProduct`), and its forward
    /// pass is checked against the Float64 reference too.
    @Test(arguments: [8, 136])
    func perExampleGradientsAddUpToTheBatchGradient(dim: Int) throws {
        var config = Fixtures.tinyConfig
        config.dim = dim
        let model = try Fixtures.tinyModel(config: config)
        let data = Fixtures.tinyExamples()
        let reference = ReferenceModel(model), logits = model.logits(for: data)
        for i in 0..<data.count {
            let expected = reference.logit(candidate: data.candidates[i], history: Array(data.history(i)), strategy: data.strategies[i])
            #expect(Double(logits[i]).isApproximatelyEqual(to: expected, absoluteTolerance: 1e-4, relativeTolerance: 1e-4), "example \(i)")
        }
        let summed = model.lossAndGradient(on: data, roles: Fixtures.tinyRoles)
        let whole = model.lossAndGradientExampleByExample(on: data, roles: Fixtures.tinyRoles)
        #expect(summed.loss.isApproximatelyEqual(to: whole.loss, relativeTolerance: 1e-6))
        for tensor in AttentionModel.layout(for: config).tensors.map(\.name) {
            let a = try #require(summed.gradient.tensor(tensor)), b = try #require(whole.gradient.tensor(tensor))
            let scale = Double(b.map(abs).max() ?? 0)
            for (i, (x, y)) in zip(a, b).enumerated() {
                #expect(Double(x).isApproximatelyEqual(to: Double(y), absoluteTolerance: 1e-5 * max(1, scale)), "\(tensor)[\(i)]")
            }
            #expect(a.contains { $0 != 0 }, "\(tensor): nothing compared")
        }
    }

    /// Twelve strategies in one batch (the kernel's strategy slots grow past their first 4):
    /// the strategy table's and W_1's gradients, summed per strategy or taken per example,
    /// match finite differences.
    @Test func manyStrategiesInOneBatchMatchFiniteDifferences() throws {
        var config = Fixtures.tinyConfig
        config.strategies = 12
        let model = try Fixtures.tinyModel(config: config)
        var data = ExampleSet()
        for s in 0..<12 {
            let history = [Int32(1 + (s + 2) % 6), Int32(1 + (s + 4) % 6)]
            data.append(candidate: Int32(1 + s % 6), strategy: Int32(s), label: Float(s % 2), history: history)
        }
        let roles = (0..<12).map { $0 % 3 == 0 ? ExampleRole.sampledNegative : .rankedLabelled }
        let summed = model.lossAndGradient(on: data, roles: roles).gradient
        let whole = model.lossAndGradientExampleByExample(on: data, roles: roles).gradient
        for name in [AttentionModel.TensorName.strategies, AttentionModel.TensorName.hiddenWeight] {
            let a = try #require(summed.tensor(name)), b = try #require(whole.tensor(name))
            let numeric = ReferenceModel(model).numericalGradient(of: name, on: data, roles: roles)
            for (i, n) in numeric.enumerated() {
                #expect(Double(a[i]).isApproximatelyEqual(to: n, absoluteTolerance: 2e-5 + 1e-3 * abs(n)), "\(name)[\(i)]: \(a[i]), numeric \(n)")
                #expect(Double(b[i]).isApproximatelyEqual(to: n, absoluteTolerance: 2e-5 + 1e-3 * abs(n)), "\(name)[\(i)] per example: \(b[i])")
            }
            #expect(numeric.contains { abs($0) > 1e-4 }, "\(name): nothing compared")
        }
    }

    @Test func thePaddingRowGetsNoGradient() throws {
        let model = try Fixtures.tinyModel()
        let gradient = model.lossAndGradient(on: Fixtures.tinyExamples()).gradient
        let items = try #require(gradient.tensor(AttentionModel.TensorName.items))
        #expect(items.prefix(Fixtures.tinyConfig.dim).allSatisfy { $0 == 0 })
    }
}
