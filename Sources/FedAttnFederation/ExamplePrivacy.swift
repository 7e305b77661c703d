public import FedAttnModel
public import FedAttnPrivacy

/// Example-level DP-SGD as a federation runs it: every silo trains with DP-SGD (see
/// `DPSGDConfig`), and the coordinator accounts, per silo, for the examples of that silo.
///
/// A silo's sampling rate and steps follow from its own training examples N (declared at
/// Join, and treated as public: it is sent in the clear): q = B / N, round(N / B) steps an
/// epoch (`PrivacySpend.dpSGD`). With a target epsilon each silo gets the smallest noise
/// multiplier that keeps `rounds` rounds of it within the target (a small silo needs more
/// noise than a large one); with a fixed noise multiplier each silo spends what it spends.
/// Epsilon is per silo, at delta (default 1 / N): a silo's examples are protected against
/// everyone who sees its updates, the coordinator included. A silo is charged a round each
/// time it is asked to train one (`PrivacyBook`), retries included.
public struct ExamplePrivacy: Sendable, Hashable {
    /// How the noise is set.
    public enum Noise: Sendable, Hashable {
        /// The same noise multiplier for every silo.
        case multiplier(Double)
        /// Per silo, the smallest multiplier whose `rounds` rounds stay within this epsilon.
        case targetEpsilon(Double)
    }

    public var noise: Noise
    /// C: each example's gradient's L2 bound.
    public var clipNorm: Float
    /// The item table's SGD learning rate (see `PrivateTrainer`).
    public var rowLearningRate: Float
    /// delta of the guarantee; nil: `PrivacySpend.defaultExampleDelta` (1 / the silo's examples).
    public var delta: Double?
    /// A silo whose next round would spend more than this is no longer selected; the run
    /// ends when too few silos are left. With a target epsilon, the target is the budget.
    public var epsilonBudget: Double?

    public init(
        noise: Noise, clipNorm: Float = 1, rowLearningRate: Float = DPSGDConfig.defaultRowLearningRate, delta: Double? = nil,
        epsilonBudget: Double? = nil
    ) {
        self.noise = noise
        self.clipNorm = clipNorm
        self.rowLearningRate = rowLearningRate
        self.delta = delta
        self.epsilonBudget = epsilonBudget
    }

    /// The most epsilon a silo may spend, if any.
    public var budget: Double? {
        if let epsilonBudget { return epsilonBudget }
        if case .targetEpsilon(let target) = noise { return target }
        return nil
    }

    /// delta for a silo of `examples` training examples.
    public func delta(examples: Int) -> Double { delta ?? PrivacySpend.defaultExampleDelta(examples: examples) }

    /// What `rounds` rounds of `plan` spend of a silo of `examples` examples at `noiseMultiplier`.
    public func spend(examples: Int, plan: LocalTrainingPlan, noiseMultiplier: Double, rounds: Int = 1) -> PrivacySpend {
        PrivacySpend.dpSGD(examples: examples, batchSize: plan.batchSize, epochs: plan.epochs * rounds, noiseMultiplier: noiseMultiplier)
    }

    /// The noise multiplier of a silo of `examples` examples in a federation of `rounds`
    /// rounds, as a plan carries it (float32, rounded up); nil when even 10,000 would not keep
    /// it within the target epsilon.
    public func noiseMultiplier(examples: Int, plan: LocalTrainingPlan, rounds: Int) -> Double? {
        switch noise {
        case .multiplier(let sigma): return PrivacySpend.carried(sigma)
        case .targetEpsilon(let target):
            let shape = spend(examples: examples, plan: plan, noiseMultiplier: 1, rounds: rounds)
            return RDPAccountant.noiseMultiplier(
                forEpsilon: target, delta: delta(examples: examples), samplingRate: shape.samplingRate, steps: shape.steps
            ).map(PrivacySpend.carried)
        }
    }

    /// The epsilon a silo of `examples` examples at `noiseMultiplier` has spent after
    /// `rounds` rounds of `plan` (infinite without noise).
    public func epsilon(examples: Int, noiseMultiplier: Double, plan: LocalTrainingPlan, rounds: Int) -> Double {
        PrivacySpend.epsilon(
            of: [spend(examples: examples, plan: plan, noiseMultiplier: noiseMultiplier, rounds: rounds)], delta: delta(examples: examples))
    }

    /// About the L2 norm the noise alone gives one round's update of a silo of `examples`
    /// examples at `noiseMultiplier`, for an item table of `tableRows` x `width`: every row
    /// but the padding one takes eta sigma C sqrt(steps) per value, so eta sigma C
    /// sqrt(steps (rows - 1) width) (the dense tensors' Adam steps add little). What an update
    /// must fit under `CoordinatorConfig.maxUpdateNorm`.
    public func expectedNoiseNorm(examples: Int, plan: LocalTrainingPlan, noiseMultiplier: Double, tableRows: Int, width: Int) -> Double {
        let steps = Double(spend(examples: examples, plan: plan, noiseMultiplier: noiseMultiplier).steps)
        return Double(rowLearningRate) * noiseMultiplier * Double(clipNorm) * (steps * Double(max(0, tableRows - 1) * width)).squareRoot()
    }

    /// The DP-SGD settings a silo trains with at `noiseMultiplier` (a carried value: exact in float32).
    public func trainingConfig(noiseMultiplier: Double) -> DPSGDConfig {
        DPSGDConfig(clipNorm: clipNorm, noiseMultiplier: Float(noiseMultiplier), rowLearningRate: rowLearningRate)
    }
}
