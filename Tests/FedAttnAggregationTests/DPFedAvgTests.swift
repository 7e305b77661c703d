import FedAttnAggregation
import FedAttnCore
import Testing

/// DP-FedAvg bounds each silo's influence by clipping, and hides it with noise of the stated size.
struct DPFedAvgTests {
    static let layout = ParameterLayout([TensorSpec(name: "item_embedding", shape: [3, 2]), TensorSpec(name: "w", shape: [4_000])])

    static func round(_ updates: [[Float]]) -> UpdateAccumulator {
        var round = UpdateAccumulator(layout: layout, tables: ["item_embedding"], keepingUpdates: true)
        for (i, values) in updates.enumerated() {
            round.add(
                ClientUpdate(
                    client: "c\(i)", exampleCount: 1 + 1_000 * i,
                    delta: SparseWeights(Weights(layout: layout, values: values), sparseTensors: ["item_embedding"])))
        }
        return round
    }

    @Test func withoutNoiseEachUpdateCountsOnceAndAtMostTheClipNorm() throws {
        var huge = [Float](repeating: 0, count: Self.layout.count), small = huge
        huge[2] = 300  // row 1; norm 300
        small[3] = 0.1
        var strategy = DPFedAvg(clipNorm: 1, noiseMultiplier: 0)
        var model = Weights(zerosLike: Self.layout)
        _ = try #require(strategy.aggregate(Self.round([huge, small]), into: &model))
        // (clip(300) = 1, 0) and (0, 0.1), averaged over the 2 updates whatever their example counts.
        #expect(abs(model.values[2] - 0.5) < 1e-3 && abs(model.values[3] - 0.05) < 1e-4, "\(model.values[0..<6])")
        #expect(model.values[0] == 0 && model.values[1] == 0)  // the padding row stays zero
    }

    /// The step is dense (every row moved by the noise) and exactly what was added, so that a
    /// client downloads the whole model; the padding row stays out of it.
    @Test func theStepIsDenseAndExactlyWhatWasAdded() throws {
        var strategy = DPFedAvg(clipNorm: 1, noiseMultiplier: 1)
        var model = Weights(zerosLike: Self.layout)
        model.values[4] = 2
        let before = model
        let step = try #require(strategy.aggregate(Self.round([[Float](repeating: 0, count: Self.layout.count)]), into: &model))
        guard case .added(let added) = step else {
            Issue.record("not an added step")
            return
        }
        #expect(added.tensors[0].rows == nil && added.tensors[0].values.count == 6)
        #expect(added.tensors[0].values[0] == 0 && added.tensors[0].values[1] == 0)
        var rebuilt = before
        added.add(to: &rebuilt)
        #expect(rebuilt == model)
    }

    @Test func theNoiseHasStandardDeviationNoiseMultiplierTimesClipNormOverTheUpdates() throws {
        let zero = [Float](repeating: 0, count: Self.layout.count)
        var strategy = DPFedAvg(clipNorm: 2, noiseMultiplier: 1.5)
        var model = Weights(zerosLike: Self.layout)
        _ = try #require(strategy.aggregate(Self.round([zero, zero]), into: &model))
        let noise = model.values[6...].map(Double.init)
        let mean = noise.reduce(0, +) / Double(noise.count)
        let deviation = (noise.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(noise.count)).squareRoot()
        // Expected 1.5 x 2 / 2 = 1.5; 4,000 draws put the sample's within about 2% of it.
        #expect(abs(deviation - 1.5) < 0.08 && abs(mean) < 0.1, "mean \(mean), deviation \(deviation)")
    }

    /// Ten updates of norms 1 ... 10: from a clip norm of 0.5, adaptive clipping aiming at the
    /// median moves the clip norm to between the 4th and 7th norms, and keeps it there.
    @Test func adaptiveClippingFindsTheMedianNorm() throws {
        let updates = (1...10).map { k in
            var values = [Float](repeating: 0, count: Self.layout.count)
            values[10] = Float(k)
            return values
        }
        // Count noise this small is no privacy; it makes the path deterministic to check.
        var strategy = DPFedAvg(
            clipNorm: 0.5, noiseMultiplier: 0, adaptive: AdaptiveClipping(targetQuantile: 0.5, countNoise: 1e-9, expectedClients: 10))
        var model = Weights(zerosLike: Self.layout)
        var path: [Double] = []
        for _ in 0..<60 {
            _ = strategy.aggregate(Self.round(updates), into: &model)
            path.append(strategy.clipNorm)
        }
        #expect(path[0] > 0.5 && path[0] < 0.6, "every update was clipped: up by exp(0.2 x 0.5) = 1.105")
        #expect(path.suffix(20).allSatisfy { $0 > 4 && $0 < 7 }, "\(path.suffix(20))")
    }

    @Test func adaptiveClippingLeavesTheSumLessNoiseAndKeepsItsClipNormAcrossARestart() throws {
        let adaptive = AdaptiveClipping(countNoise: 1, expectedClients: 1)
        var strategy = DPFedAvg(clipNorm: 1, noiseMultiplier: 1, adaptive: adaptive)
        // (1 - 1/4)^(-1/2): together with the count's noise, the mechanism's multiplier is 1.
        #expect(abs(strategy.sumNoiseMultiplier - 1.1547005) < 1e-6)
        var model = Weights(zerosLike: Self.layout)
        _ = strategy.aggregate(Self.round([[Float](repeating: 0, count: Self.layout.count)]), into: &model)
        let saved = try #require(strategy.savedState(for: Self.layout))
        var resumed = DPFedAvg(clipNorm: 1, noiseMultiplier: 1, adaptive: adaptive)
        resumed.restore(saved)
        #expect(strategy.clipNorm != 1, "the first round moved the clip norm")
        #expect(resumed.clipNorm == strategy.clipNorm)
    }

    /// Around FedAdam, the noised mean is FedAdam's pseudo-gradient, and both the clip norm and
    /// FedAdam's moments survive a restart.
    @Test func aroundFedAdamTheStateOfBothIsKeptAcrossARestart() throws {
        let adaptive = AdaptiveClipping(countNoise: 1, expectedClients: 1)
        let fedAdam = FedOpt(rule: .adam, learningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3)
        var strategy = DPFedAvg(wrapping: fedAdam, clipNorm: 1, noiseMultiplier: 0.01, adaptive: adaptive)
        #expect(strategy.name.hasPrefix("dp-fedadam"), "\(strategy.name)")
        var updated = [Float](repeating: 0, count: Self.layout.count)
        updated[10] = 0.5
        var model = Weights(zerosLike: Self.layout)
        _ = try #require(strategy.aggregate(Self.round([updated]), into: &model))
        // FedAdam's first step moves each coordinate by about eta (the noise, 0.01, is small beside 0.5).
        #expect(abs(abs(model.values[10]) - 0.1) < 0.02, "\(model.values[10])")
        let saved = try #require(strategy.savedState(for: Self.layout))
        var resumed = DPFedAvg(
            wrapping: FedOpt(rule: .adam, learningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3), clipNorm: 1, noiseMultiplier: 0.01,
            adaptive: adaptive)
        resumed.restore(saved)
        #expect(resumed.clipNorm == strategy.clipNorm)
        #expect(resumed.savedState(for: Self.layout) == saved)
    }
}
