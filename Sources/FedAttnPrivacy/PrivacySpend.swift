/// Steps of the Poisson-subsampled Gaussian mechanism, as the accountant composes them: what
/// one silo's local DP-SGD round spends (q = batch / examples, round(examples / batch) steps an
/// epoch), or one DP-FedAvg round (q = clients per round / clients, one step). The one place
/// both the coordinator and a silo compute a spend from a plan, so that they agree.
public struct PrivacySpend: Codable, Sendable, Hashable {
    public let samplingRate: Double
    public let noiseMultiplier: Double
    public let steps: Int

    public init(samplingRate: Double, noiseMultiplier: Double, steps: Int) {
        self.samplingRate = samplingRate
        self.noiseMultiplier = noiseMultiplier
        self.steps = steps
    }

    /// DP-SGD's Poisson sampling rate for `examples` examples at `batchSize`: min(1, B / N).
    public static func samplingRate(batchSize: Int, examples: Int) -> Double {
        min(1, Double(batchSize) / Double(max(1, examples)))
    }

    /// DP-SGD's steps in one epoch: round(N / B), at least 1.
    public static func stepsPerEpoch(batchSize: Int, examples: Int) -> Int {
        max(1, Int((Double(examples) / Double(max(1, batchSize))).rounded()))
    }

    /// `epochs` epochs of DP-SGD over `examples` examples at `batchSize`.
    public static func dpSGD(examples: Int, batchSize: Int, epochs: Int, noiseMultiplier: Double) -> PrivacySpend {
        PrivacySpend(
            samplingRate: samplingRate(batchSize: batchSize, examples: examples), noiseMultiplier: noiseMultiplier,
            steps: epochs * stepsPerEpoch(batchSize: batchSize, examples: examples))
    }

    /// The epsilon at `delta` that `spends` composed spend (infinite when one has no noise).
    public static func epsilon(of spends: [PrivacySpend], delta: Double) -> Double {
        var accountant = RDPAccountant()
        for spend in spends {
            accountant.compose(samplingRate: spend.samplingRate, noiseMultiplier: spend.noiseMultiplier, steps: spend.steps)
        }
        return accountant.epsilon(delta: delta).epsilon
    }

    /// Example-level delta by default: 1 / the silo's training examples, as the issue that asked
    /// for these figures sets it. (Weak: releasing one random example meets it; give a
    /// smaller delta where it matters.)
    public static func defaultExampleDelta(examples: Int) -> Double { 1 / Double(max(2, examples)) }

    /// The noise multiplier, as a float32 plan carries it, that is at least `sigma`: rounded
    /// up, so that what a silo runs never has less noise than what was accounted.
    public static func carried(_ sigma: Double) -> Double {
        let float = Float(sigma)
        return Double(Double(float) < sigma ? float.nextUp : float)
    }
}
