import FedAttnCore
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

/// Example-level DP-SGD: the noise is the normal distribution, sampling is Poisson at the
/// stated rate, each example's gradient is clipped over all parameters, and every row of the
/// item table gets the noise of every step, read or not.
struct DPSGDTests {
    @Test func theNoiseIsTheStandardNormalDistribution() {
        var noise = GaussianNoise(seed: 42)
        let n = 1_000_000
        var draws = (0..<n).map { _ in Double(noise.next()) }
        let mean = draws.reduce(0, +) / Double(n)
        let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        #expect(abs(mean) < 0.005)  // 5 standard errors
        #expect(abs(variance - 1) < 0.005)  // 3.5 standard errors
        // Kolmogorov-Smirnov against the normal CDF; 1.63 / sqrt(n) is the 1% critical value.
        draws.sort()
        var largest = 0.0
        for (i, x) in draws.enumerated() {
            let cdf = 0.5 * erfc(-x / 2.0.squareRoot())
            largest = max(largest, abs(cdf - Double(i) / Double(n)), abs(cdf - Double(i + 1) / Double(n)))
        }
        #expect(largest < 1.63 / Double(n).squareRoot(), "KS distance \(largest)")
        // The tail beyond r = 3.4426 comes from its own sampler: it must hold its share,
        // 2 (1 - Phi(3.4426)) = 5.76e-4, and reach past 4 standard deviations on both sides (about 32 draws each).
        let tail = draws.filter { abs($0) > 3.442619855899 }.count
        #expect(abs(Double(tail) - 576) < 100, "\(tail) draws beyond r")
        #expect(draws.first! < -4 && draws.last! > 4)
    }

    @Test func poissonSamplingTakesEachExampleAtTheRate() {
        let sampler = PoissonSampler(count: 1_000, rate: 0.05)
        var noise = GaussianNoise(seed: 7)
        var taken = [Int](repeating: 0, count: 1_000)
        var batch: [Int32] = [], sizes = 0
        for _ in 0..<2_000 {
            sampler.sample(into: &batch, using: &noise)
            #expect(zip(batch, batch.dropFirst()).allSatisfy { $0 < $1 }, "indices ascending, none twice")
            for i in batch { taken[Int(i)] += 1 }
            sizes += batch.count
        }
        // Each index: Binomial(2000, 0.05), mean 100, sd 9.7.
        #expect(abs(Double(sizes) / 2_000 - 50) < 1)
        #expect(taken.allSatisfy { abs($0 - 100) < 50 }, "min \(taken.min()!), max \(taken.max()!)")
        #expect(taken[0] > 0 && taken[999] > 0, "the ends are sampled too")
    }

    /// One example, batch size 1 (so q = 1 and one step an epoch), no noise: the item rows
    /// move by -rate * g * min(1, C / |g|), |g| over ALL parameters (rows and dense tensors).
    @Test(arguments: [0.05 as Float, 1_000])
    func eachExampleGradientIsClippedOverAllParameters(clipNorm: Float) throws {
        let model = try Fixtures.tinyModel()
        var one = ExampleSet()
        one.append(candidate: 3, strategy: 0, label: 1, history: [1, 2, 4, 5, 3] as [Int32])
        let gradient = model.lossAndGradient(on: one).gradient
        let norm = Float(gradient.l2Norm)
        let factor = min(1, clipNorm / norm)
        let rate: Float = 0.5
        let trainer = PrivateTrainer(
            model: model, config: TrainingConfig(batchSize: 1),
            privacy: DPSGDConfig(clipNorm: clipNorm, noiseMultiplier: 0, rowLearningRate: rate, seed: 1))
        trainer.trainEpoch(on: one)
        let moved = try #require(trainer.delta().densified().tensor(AttentionModel.TensorName.items))
        let expected = try #require(gradient.tensor(AttentionModel.TensorName.items)).map { -rate * factor * $0 }
        #expect(expected.contains { abs($0) > 1e-4 }, "the example touches some rows")
        for (i, (got, want)) in zip(moved, expected).enumerated() {
            #expect(abs(got - want) <= 1e-6 + 1e-4 * abs(want), "item_embedding[\(i)]: \(got) against \(want)")
        }
        if clipNorm < 1 { #expect(factor < 0.5, "the small clip norm clips") }
    }

    /// A 2,000-row table whose examples read rows 1-1,500, at random steps: with noise a
    /// thousand times the clip norm (so the clipped gradients are lost in it), after T steps
    /// every row but the padding row moved by T steps' noise, variance T (rate sigma C)^2,
    /// whether examples read it (the noise of the steps before each read added first, that
    /// of the last steps at the epoch's end) or not: none dropped, none added twice.
    @Test func everyRowGetsTheNoiseOfEveryStepReadOrNot() throws {
        var config = Fixtures.tinyConfig
        config.items = .catalogue(items: 2_000)
        let model = try AttentionModel(config: config, seed: 5)
        var generator = SeededGenerator(seed: 9)
        var data = ExampleSet()
        for _ in 0..<300 {
            let history = (0..<4).map { _ in Int32.random(in: 1...1_500, using: &generator) }
            data.append(
                candidate: Int32.random(in: 1...1_500, using: &generator), strategy: 0, label: Float(Int.random(in: 0...1, using: &generator)),
                history: history)
        }
        let (rate, sigma, clip): (Float, Float, Float) = (0.001, 1_000, 0.5)
        let trainer = PrivateTrainer(
            model: model, config: TrainingConfig(batchSize: 10),
            privacy: DPSGDConfig(clipNorm: clip, noiseMultiplier: sigma, rowLearningRate: rate, seed: 3))
        for _ in 0..<5 { trainer.trainEpoch(on: data) }
        let steps = 5 * DPSGDConfig.stepsPerEpoch(batchSize: 10, examples: data.count)
        let moved = try #require(trainer.delta().densified().tensor(AttentionModel.TensorName.items))
        let d = config.dim
        #expect(moved[0..<d].allSatisfy { $0 == 0 }, "the padding row never moves")
        let expected = Double(steps) * Double(rate * sigma * clip) * Double(rate * sigma * clip)
        for (name, rows) in [("read", 1...1_500), ("unread", 1_501...2_000)] {
            let values = moved[(rows.lowerBound * d)..<((rows.upperBound + 1) * d)].map(Double.init)
            let variance = values.reduce(0) { $0 + $1 * $1 } / Double(values.count)
            // 4,000 to 12,000 values: the variance's standard error is 1.3-2.2%.
            #expect(abs(variance / expected - 1) < 0.08, "\(name) rows: variance \(variance), expected \(expected) for \(steps) steps")
        }
    }

    @Test func dpSGDLearnsThePlantedStructure() throws {
        let (train, test) = Fixtures.syntheticExamples()
        let model = try AttentionModel(config: Fixtures.syntheticConfig, seed: 1)
        let before = Evaluation(model: model, data: test).auc ?? 0
        let trainer = TrainingConfig(batchSize: 256, privacy: DPSGDConfig(clipNorm: 1, noiseMultiplier: 0.5, seed: 2)).makeTrainer(for: model)
        for _ in 0..<3 { trainer.trainEpoch(on: train, progress: nil) }
        let after = Evaluation(model: trainer.model, data: test).auc ?? 0
        #expect(after > before + 0.1, "test AUC \(before) -> \(after)")
    }
}
