import FedAttnPrivacy

/// Example-level differential privacy for local training: DP-SGD (Abadi et al., "Deep
/// Learning with Differential Privacy", CCS 2016) with Poisson sampling.
///
/// Each step takes every training example independently with probability
/// q = batchSize / examples, clips each sampled example's gradient (all parameters, the item
/// rows it touches included) to an L2 norm of at most `clipNorm`, sums the clipped gradients,
/// adds Gaussian noise of standard deviation `noiseMultiplier * clipNorm` to every parameter,
/// and divides by the expected batch size. An epoch is round(examples / batchSize) such steps.
/// The RDP accountant of the Poisson-subsampled Gaussian (FedAttnPrivacy) turns (q,
/// noiseMultiplier, steps) into the (epsilon, delta) one example of the silo is protected by.
public struct DPSGDConfig: Sendable, Hashable {
    /// C: the most one example's gradient may weigh (L2 norm over all parameters).
    public var clipNorm: Float
    /// sigma: the noise's standard deviation in units of `clipNorm`.
    public var noiseMultiplier: Float
    /// Plain SGD's learning rate for the item table, per example: a row moves by this times
    /// the step's noisy sum of clipped gradients (not their mean), so one setting suits every
    /// batch size. (See `PrivateTrainer` for why the table takes SGD steps while the other
    /// tensors take Adam steps.)
    public var rowLearningRate: Float
    /// Seeds the sampling and the noise; nil (the default) seeds them from the system's
    /// cryptographic generator, as privacy needs: whoever knows the seed can subtract the
    /// noise. Tests set it to repeat a run.
    public var seed: UInt64?

    /// The item table's learning rate unless one is given.
    public static let defaultRowLearningRate: Float = 0.03

    public init(clipNorm: Float = 1, noiseMultiplier: Float, rowLearningRate: Float = DPSGDConfig.defaultRowLearningRate, seed: UInt64? = nil) {
        self.clipNorm = clipNorm
        self.noiseMultiplier = noiseMultiplier
        self.rowLearningRate = rowLearningRate
        self.seed = seed
    }

    /// Checks the settings; the message names the one that is wrong.
    public func validate() throws(DPSGDConfigError) {
        guard clipNorm.isFinite, clipNorm > 0 else { throw DPSGDConfigError(description: "the DP-SGD clip norm must be positive, got \(clipNorm)") }
        guard noiseMultiplier.isFinite, noiseMultiplier >= 0 else {
            throw DPSGDConfigError(description: "the DP-SGD noise multiplier must be 0 or more, got \(noiseMultiplier)")
        }
        guard rowLearningRate.isFinite, rowLearningRate > 0 else {
            throw DPSGDConfigError(description: "the DP-SGD row learning rate must be positive, got \(rowLearningRate)")
        }
    }

    /// The Poisson sampling rate q for a silo of `examples` training examples (`PrivacySpend`).
    public static func samplingRate(batchSize: Int, examples: Int) -> Double {
        PrivacySpend.samplingRate(batchSize: batchSize, examples: examples)
    }

    /// Steps in one epoch: round(examples / batchSize), at least 1 (`PrivacySpend`).
    public static func stepsPerEpoch(batchSize: Int, examples: Int) -> Int {
        PrivacySpend.stepsPerEpoch(batchSize: batchSize, examples: examples)
    }
}

/// A DP-SGD setting that cannot be used; the description names it.
public struct DPSGDConfigError: Error, CustomStringConvertible {
    public let description: String
}
