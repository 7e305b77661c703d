/// What the kept round is chosen by, on the silos' validation splits.
public enum SelectionMetric: String, Sendable, Hashable, CaseIterable {
    /// The validation AUC of the click head (a trimmed mean of the silos' own): the model
    /// that predicts clicks best.
    case auc
    /// The validation NDCG@10 (a trimmed mean of the silos' own) of each user's last clicked
    /// validation item among 99 sampled negatives: the model that recommends best.
    case ndcg
}

/// Which round's model to keep, and when to stop: the round with the highest validation
/// metric (`SelectionMetric`) is the best (the first of equals); with a `patience` of N the
/// federation stops once N rounds have passed without a better one.
/// Rounds without that metric (no client carved a validation split) are neither kept nor
/// counted. The metric is robust to one dishonest silo of three or more (`RoundEvaluations`:
/// a trimmed mean of per-silo values). A pure value, rebuilt on resume by replaying the
/// stored records.
public struct ModelSelection: Sendable, Equatable {
    /// Rounds without improvement before stopping; 0 never stops early.
    public let patience: Int
    public let metric: SelectionMetric
    /// The best round so far and its validation metric.
    public private(set) var bestRound: Int?
    public private(set) var bestValue: Double?
    /// Rounds with a validation metric since the best.
    public private(set) var roundsSinceBest = 0

    public init(patience: Int, metric: SelectionMetric = .auc, replaying records: [RoundRecord] = []) {
        self.patience = patience
        self.metric = metric
        for record in records { _ = observe(record) }
    }

    /// Takes a finished round; true when it is the new best.
    public mutating func observe(_ record: RoundRecord) -> Bool {
        guard let value = metric == .auc ? record.validationAUC : record.validationNDCG else { return false }
        guard let best = bestValue, value <= best else {
            (bestRound, bestValue, roundsSinceBest) = (record.round, value, 0)
            return true
        }
        roundsSinceBest += 1
        return false
    }

    /// Whether the federation should stop here.
    public var shouldStop: Bool { patience > 0 && bestRound != nil && roundsSinceBest >= patience }
}
