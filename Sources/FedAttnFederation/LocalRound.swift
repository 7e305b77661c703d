public import FedAttnCore
public import FedAttnModel
import FedAttnPrivacy

/// What the coordinator asks of a client for one round of training.
public struct LocalTrainingPlan: Sendable, Hashable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var seed: UInt64
    /// FedProx strength; see TrainingConfig.proximalMu.
    public var proximalMu: Float
    /// Example-level DP-SGD, when set: the clip norm, this silo's noise multiplier and the
    /// item table's learning rate (its `seed` is nil: a silo seeds its own noise).
    public var privacy: DPSGDConfig?
    /// Secure aggregation, when set: the client's place in the round's SecAgg+ graph. The
    /// update is then not uploaded but summed through the secure phases.
    public var secure: SecurePlan?
    /// Sampled negatives beside each clicked row (training to rank); none at count 0.
    public var negatives: NegativeSampling

    public init(
        epochs: Int = 1, batchSize: Int = 256, learningRate: Float = 1e-3, seed: UInt64 = 0, proximalMu: Float = 0.005, privacy: DPSGDConfig? = nil,
        negatives: NegativeSampling = NegativeSampling(count: 0)
    ) {
        self.negatives = negatives
        self.proximalMu = proximalMu
        self.privacy = privacy
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
    }
}

extension LocalTrainingPlan {
    /// The optimiser steps a client takes on `examples` train examples (FedNova's tau_i):
    /// epochs x ceil(examples / batch), or with DP-SGD (`privateSteps`) epochs x
    /// round(examples / batch) (`PrivacySpend.stepsPerEpoch`); at least 1, and saturating
    /// rather than overflowing on a count no silo holds.
    public func localSteps(examples: Int, privateSteps: Bool = false) -> Int {
        let n = max(examples, 0)
        let perEpoch =
            privateSteps
            ? PrivacySpend.stepsPerEpoch(batchSize: batchSize, examples: min(n, 1 << 52)) : n / batchSize + (n % batchSize > 0 ? 1 : 0)
        let (steps, overflow) = epochs.multipliedReportingOverflow(by: perEpoch)
        return overflow ? Int.max : max(steps, 1)
    }
}

extension CoordinatorConfig {
    /// The local steps behind an update of `examples` examples under this configuration.
    public func localSteps(examples: Int) -> Int {
        plan.localSteps(examples: examples, privateSteps: examplePrivacy != nil)
    }
}

/// A client's result of one local round.
public struct LocalRoundResult: Sendable {
    public init(delta: SparseWeights, examples: Int, meanLoss: Double, seconds: Double) {
        self.delta = delta
        self.examples = examples
        self.meanLoss = meanLoss
        self.seconds = seconds
    }

    /// local - global, with the item table reduced to the rows that changed.
    public let delta: SparseWeights
    public let examples: Int
    public let meanLoss: Double
    public let seconds: Double
    /// The locally trained model on the silo's test split, when asked for
    /// (`trainRestoring(evaluatingOn:)`): what the silo would have without the federation's
    /// averaging, for its own log. Never sent.
    public var localTest: EvaluationSummary? = nil
}

/// The client side of a round: train the global model on the silo's own examples, exactly
/// as local training does, and return how far it moved.
public enum LocalRound {
    /// Tensors sent as their changed rows: a silo touches only the items it has seen.
    public static let sparseTensors: Set<String> = [AttentionModel.TensorName.items]

    public static func train(
        global: AttentionModel, on data: ExampleSet, plan: LocalTrainingPlan, threads: Int = 1,
        progress: ((_ epoch: Int, _ examplesDone: Int) -> Void)? = nil
    ) -> LocalRoundResult {
        let trainer = config(plan, threads: threads).makeTrainer(for: global)
        return run(trainer, on: data, epochs: plan.epochs, progress: progress)
    }

    /// `train`, on `global` itself rather than a copy: returns the result and `global` put
    /// back as it was, bit for bit (only the rows training touched are written back). A silo
    /// holding a 1M-row model thus trains a round without copying 128 MB.
    ///
    /// With `test`, the trained model is also evaluated on it before it is put back
    /// (`LocalRoundResult.localTest`).
    public static func trainRestoring(
        _ global: consuming AttentionModel, on data: ExampleSet, plan: LocalTrainingPlan, threads: Int = 1,
        evaluatingOn test: ExampleSet? = nil, progress: ((_ epoch: Int, _ examplesDone: Int) -> Void)? = nil
    ) -> (result: LocalRoundResult, global: AttentionModel) {
        let trainer = config(plan, threads: threads).makeTrainer(for: global)
        var result = run(trainer, on: data, epochs: plan.epochs, progress: progress)
        // Read in place: the trainer's model is not copied (no reference outlives this line).
        if let test, !test.isEmpty { result.localTest = evaluate(trainer.model, on: test, threads: threads) }
        return (result, trainer.restoreStart())
    }

    private static func config(_ plan: LocalTrainingPlan, threads: Int) -> TrainingConfig {
        TrainingConfig(
            batchSize: plan.batchSize, learningRate: plan.learningRate, seed: plan.seed, threads: threads, proximalMu: plan.proximalMu,
            privacy: plan.privacy, negatives: plan.negatives)
    }

    /// The round's epochs; the last epoch's mean loss and the seconds of all.
    private static func run(
        _ trainer: any EpochTrainer, on data: ExampleSet, epochs: Int, progress: ((_ epoch: Int, _ examplesDone: Int) -> Void)?
    ) -> LocalRoundResult {
        var loss = 0.0, seconds = 0.0
        for epoch in 1...epochs {
            let report = trainer.trainEpoch(on: data) { progress?(epoch, $0) }
            loss = report.meanLoss
            seconds += report.seconds
        }
        return LocalRoundResult(delta: trainer.delta(), examples: data.count, meanLoss: loss, seconds: seconds)
    }

    /// The client side of federated evaluation: a summary of the model on the silo's test split.
    public static func evaluate(_ model: AttentionModel, on data: ExampleSet, threads: Int = 1) -> EvaluationSummary {
        EvaluationSummary(logits: model.logits(for: data, threads: threads), labels: data.labels)
    }
}
