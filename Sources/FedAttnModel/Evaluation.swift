/// How well a model ranks and predicts a set of examples.
public struct Evaluation: Sendable, Equatable {
    public let examples: Int
    /// Nil when the examples hold a single class.
    public let auc: Double?
    public let logLoss: Double?

    /// Scores `data` with `model` on `threads` threads.
    public init(model: AttentionModel, data: ExampleSet, threads: Int = 1) {
        let logits = model.logits(for: data, threads: threads)
        examples = data.count
        auc = AUC.exact(scores: logits, labels: data.labels)
        logLoss = LogLoss.fromLogits(logits, labels: data.labels)
    }
}
