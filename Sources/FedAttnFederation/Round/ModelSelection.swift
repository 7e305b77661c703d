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

    /// The best round's figures, silo by silo (empty for records written before they were kept).
    private var bestScores: [String: SiloScores] = [:]

    /// Takes a finished round; true when it is the new best. Like with like: when both this
    /// round and the best carry their silos' own figures and the silos that evaluated them
    /// differ (one left, one joined), the two are compared by the trimmed mean over the silos
    /// both were evaluated by, so a round is not better only because a weak silo was missing.
    public mutating func observe(_ record: RoundRecord) -> Bool {
        guard let value = metric == .auc ? record.validationAUC : record.validationNDCG else { return false }
        let better: Bool
        if let best = bestValue {
            let (mine, theirs) = shared(record.siloScores, bestScores) ?? (value, best)
            better = mine > theirs
        } else {
            better = true
        }
        guard better else {
            roundsSinceBest += 1
            return false
        }
        (bestRound, bestValue, bestScores, roundsSinceBest) = (record.round, value, record.siloScores, 0)
        return true
    }

    /// The metric's trimmed means over the silos `a` and `b` share, when their silos differ
    /// and they share any; nil to compare the rounds' own values.
    private func shared(_ a: [String: SiloScores], _ b: [String: SiloScores]) -> (Double, Double)? {
        let value = { (s: SiloScores) in self.metric == .auc ? s.validationAUC : s.validationNDCG }
        let inA = Set(a.filter { value($0.value) != nil }.keys), inB = Set(b.filter { value($0.value) != nil }.keys)
        let common = inA.intersection(inB)
        guard inA != inB, !common.isEmpty else { return nil }
        guard let x = RoundEvaluations.trimmedMean(common.compactMap { a[$0].flatMap(value) }),
            let y = RoundEvaluations.trimmedMean(common.compactMap { b[$0].flatMap(value) })
        else { return nil }
        return (x, y)
    }

    /// Whether the federation should stop here.
    public var shouldStop: Bool { patience > 0 && bestRound != nil && roundsSinceBest >= patience }
}
