/// Which round's model to keep, and when to stop: the round with the highest pooled
/// validation AUC is the best (the first of equals); with a `patience` of N the federation
/// stops once N rounds have passed without a better one. Rounds without a validation AUC
/// (no client carved a validation split) are neither kept nor counted. A pure value, rebuilt
/// on resume by replaying the stored records.
public struct ModelSelection: Sendable, Equatable {
    /// Rounds without improvement before stopping; 0 never stops early.
    public let patience: Int
    /// The best round so far and its validation AUC.
    public private(set) var bestRound: Int?
    public private(set) var bestAUC: Double?
    /// Rounds with a validation AUC since the best.
    public private(set) var roundsSinceBest = 0

    public init(patience: Int, replaying records: [RoundRecord] = []) {
        self.patience = patience
        for record in records { _ = observe(record) }
    }

    /// Takes a finished round; true when it is the new best.
    public mutating func observe(_ record: RoundRecord) -> Bool {
        guard let auc = record.validationAUC else { return false }
        guard let best = bestAUC, auc <= best else {
            (bestRound, bestAUC, roundsSinceBest) = (record.round, auc, 0)
            return true
        }
        roundsSinceBest += 1
        return false
    }

    /// Whether the federation should stop here.
    public var shouldStop: Bool { patience > 0 && bestRound != nil && roundsSinceBest >= patience }
}
