public import FedAttnModel
import FedAttnPrivacy

/// Example-level DP-SGD as a federation runs it: every silo trains with DP-SGD (see
/// `DPSGDConfig`), and the coordinator accounts, per silo, for the examples of that silo.
///
/// A silo's sampling rate and steps follow from its own training examples N (declared at
/// Join): q = B / N, round(N / B) steps an epoch. With a target epsilon each silo gets the
/// smallest noise multiplier that keeps `rounds` rounds of it within the target (a small silo
/// needs more noise than a large one); with a fixed noise multiplier each silo spends what
/// it spends. Epsilon is per silo, at delta (default 1 / N): a silo's examples are protected
/// against everyone who sees its updates, the coordinator included. A round counts for a
/// silo when its update was accepted into the round.
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
    /// delta of the guarantee; nil: 1 / the silo's training examples.
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
    public func delta(examples: Int) -> Double { delta ?? 1 / Double(max(2, examples)) }

    /// DP-SGD steps `rounds` rounds of `plan` take on `examples` examples.
    public func steps(examples: Int, plan: LocalTrainingPlan, rounds: Int) -> Int {
        rounds * plan.epochs * DPSGDConfig.stepsPerEpoch(batchSize: plan.batchSize, examples: examples)
    }

    /// The noise multiplier of a silo of `examples` examples in a federation of `rounds`
    /// rounds; nil when even 10,000 would not keep it within the target epsilon.
    public func noiseMultiplier(examples: Int, plan: LocalTrainingPlan, rounds: Int) -> Double? {
        switch noise {
        case .multiplier(let sigma): return sigma
        case .targetEpsilon(let target):
            return RDPAccountant.noiseMultiplier(
                forEpsilon: target, delta: delta(examples: examples),
                samplingRate: DPSGDConfig.samplingRate(batchSize: plan.batchSize, examples: examples),
                steps: steps(examples: examples, plan: plan, rounds: rounds))
        }
    }

    /// The epsilon a silo of `examples` examples at `noiseMultiplier` has spent after
    /// `rounds` rounds of `plan` (infinite without noise).
    public func epsilon(examples: Int, noiseMultiplier: Double, plan: LocalTrainingPlan, rounds: Int) -> Double {
        var accountant = RDPAccountant()
        accountant.compose(
            samplingRate: DPSGDConfig.samplingRate(batchSize: plan.batchSize, examples: examples), noiseMultiplier: noiseMultiplier,
            steps: steps(examples: examples, plan: plan, rounds: rounds))
        return accountant.epsilon(delta: delta(examples: examples)).epsilon
    }

    /// The DP-SGD settings a silo trains with at `noiseMultiplier`.
    public func trainingConfig(noiseMultiplier: Double) -> DPSGDConfig {
        DPSGDConfig(clipNorm: clipNorm, noiseMultiplier: Float(noiseMultiplier), rowLearningRate: rowLearningRate)
    }
}
