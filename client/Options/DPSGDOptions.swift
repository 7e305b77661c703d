import ArgumentParser
import FedAttnModel
import FedAttnPrivacy

/// Example-level DP-SGD for `train`: a noise multiplier, or a target epsilon it is derived from.
struct DPSGDOptions: ParsableArguments {
    @Option(name: .long, help: "Train with example-level DP-SGD at this noise multiplier (noise deviation over the clip norm).")
    var dpNoiseMultiplier: Float?

    @Option(name: .long, help: "Train with example-level DP-SGD, the noise multiplier derived so that the whole run (--epochs) spends this epsilon.")
    var dpTargetEpsilon: Double?

    @Option(name: .long, help: "DP-SGD: the L2 norm each example's gradient is clipped to (default 1).")
    var dpClipNorm: Float?

    @Option(name: .long, help: "DP-SGD: delta of the (epsilon, delta) guarantee. Default: 1 / training examples.")
    var dpDelta: Double?

    @Option(
        name: .long, help: "DP-SGD: the SGD learning rate of the item table, per example (default \(DPSGDConfig.defaultRowLearningRate)).")
    var dpRowLearningRate: Float?

    var enabled: Bool { dpNoiseMultiplier != nil || dpTargetEpsilon != nil }

    func validate() throws {
        guard dpNoiseMultiplier == nil || dpTargetEpsilon == nil else {
            throw ValidationError("give --dp-noise-multiplier or --dp-target-epsilon, not both")
        }
        if let dpTargetEpsilon {
            guard dpTargetEpsilon > 0, dpTargetEpsilon.isFinite else { throw ValidationError("--dp-target-epsilon must be positive") }
        }
        if let dpDelta { guard dpDelta > 0, dpDelta < 1 else { throw ValidationError("--dp-delta must lie in (0, 1)") } }
        for (given, flag) in [
            (dpDelta != nil, "--dp-delta"), (dpClipNorm != nil, "--dp-clip-norm"), (dpRowLearningRate != nil, "--dp-row-learning-rate"),
        ]
        where given && !enabled {
            throw ValidationError("\(flag) needs --dp-noise-multiplier or --dp-target-epsilon (without one of them, training is not private)")
        }
        if let dpNoiseMultiplier {
            guard dpNoiseMultiplier > 0, dpNoiseMultiplier.isFinite else {
                throw ValidationError("--dp-noise-multiplier must be a positive number (without noise there is no privacy)")
            }
        }
        if let dpClipNorm { guard dpClipNorm > 0, dpClipNorm.isFinite else { throw ValidationError("--dp-clip-norm must be a positive number") } }
        if let dpRowLearningRate {
            guard dpRowLearningRate > 0, dpRowLearningRate.isFinite else { throw ValidationError("--dp-row-learning-rate must be a positive number") }
        }
    }

    /// The DP-SGD settings and accounting for `epochs` epochs over `examples` at `batchSize`,
    /// or nil without DP. Throws when no noise multiplier reaches the target epsilon.
    func plan(examples: Int, batchSize: Int, epochs: Int) throws -> DPSGDPlan? {
        guard enabled else { return nil }
        let shape = PrivacySpend.dpSGD(examples: examples, batchSize: batchSize, epochs: 1, noiseMultiplier: 1)
        let delta = dpDelta ?? PrivacySpend.defaultExampleDelta(examples: examples)
        var sigma = Double(dpNoiseMultiplier ?? 0)
        if let dpTargetEpsilon {
            guard
                let derived = RDPAccountant.noiseMultiplier(
                    forEpsilon: dpTargetEpsilon, delta: delta, samplingRate: shape.samplingRate, steps: epochs * shape.steps)
            else { throw ValidationError("no noise multiplier up to 10,000 keeps \(epochs) epochs within epsilon \(dpTargetEpsilon)") }
            sigma = PrivacySpend.carried(derived)
        }
        return DPSGDPlan(
            config: DPSGDConfig(
                clipNorm: dpClipNorm ?? 1, noiseMultiplier: Float(sigma), rowLearningRate: dpRowLearningRate ?? DPSGDConfig.defaultRowLearningRate),
            delta: delta,
            samplingRate: shape.samplingRate, stepsPerEpoch: shape.steps)
    }
}

/// DP-SGD's settings for a run and what its epochs spend.
struct DPSGDPlan {
    let config: DPSGDConfig
    let delta: Double
    let samplingRate: Double
    let stepsPerEpoch: Int

    /// Epsilon at `delta` after `epochs` epochs (RDP of the Poisson-subsampled Gaussian).
    func epsilon(afterEpochs epochs: Int) -> Double {
        PrivacySpend.epsilon(
            of: [PrivacySpend(samplingRate: samplingRate, noiseMultiplier: Double(config.noiseMultiplier), steps: epochs * stepsPerEpoch)],
            delta: delta)
    }
}
