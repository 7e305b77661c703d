import RealModule

/// What a client reports about a model on its test split: enough for the coordinator to
/// derive pooled AUC and log loss without seeing any single prediction. Scores are binned
/// by logit, separately for positives and negatives; summaries from many clients add up.
public struct EvaluationSummary: Sendable, Equatable {
    /// Bins over logits in [-logitRange, logitRange]; outside ones fall in the end bins.
    public static let bins = 4096
    public static let logitRange: Float = 16

    public private(set) var examples = 0
    /// Sum of per-example binary cross-entropy (natural log).
    public private(set) var logLossSum = 0.0
    public private(set) var positives: [UInt64]
    public private(set) var negatives: [UInt64]

    public init() {
        positives = [UInt64](repeating: 0, count: Self.bins)
        negatives = [UInt64](repeating: 0, count: Self.bins)
    }

    public init(examples: Int, logLossSum: Double, positives: [UInt64], negatives: [UInt64]) {
        precondition(positives.count == Self.bins && negatives.count == Self.bins, "Histograms must have \(Self.bins) bins.")
        self.examples = examples
        self.logLossSum = logLossSum
        self.positives = positives
        self.negatives = negatives
    }

    /// Summarises a model's logits on labelled examples.
    public init(logits: [Float], labels: [Float]) {
        self.init()
        for (o, y) in zip(logits, labels) {
            let bin = Self.bin(of: o)
            if y > 0.5 { positives[bin] += 1 } else { negatives[bin] += 1 }
            logLossSum += Double(sigmoidBCEForward(logit: o, label: y))
        }
        examples = logits.count
    }

    static func bin(of logit: Float) -> Int {
        guard logit.isFinite else { return logit > 0 ? bins - 1 : 0 }
        let scaled = (logit + logitRange) / (2 * logitRange) * Float(bins)
        return min(bins - 1, max(0, Int(scaled)))
    }

    /// Adds another client's summary.
    public mutating func merge(_ other: EvaluationSummary) {
        examples += other.examples
        logLossSum += other.logLossSum
        for b in 0..<Self.bins {
            positives[b] += other.positives[b]
            negatives[b] += other.negatives[b]
        }
    }

    /// This summary weighed by `weight` in [0, 1]: every count times `weight` (rounded), the
    /// log-loss sum with them, so a pooled figure counts it as a smaller share. AUC and log
    /// loss of the summary alone barely change (the rounding of each bin).
    public func scaled(by weight: Double) -> EvaluationSummary {
        guard weight < 1 else { return self }
        let w = max(0, weight)
        let p = positives.map { UInt64((Double($0) * w).rounded()) }, n = negatives.map { UInt64((Double($0) * w).rounded()) }
        let examples = Int(clamping: p.reduce(0, &+) &+ n.reduce(0, &+))
        return EvaluationSummary(
            examples: examples, logLossSum: self.examples > 0 ? logLossSum * Double(examples) / Double(self.examples) : 0, positives: p, negatives: n)
    }

    /// AUC with each bin's scores treated as tied; differs from the exact AUC by at most
    /// half the share of positive-negative pairs that share a bin.
    public var auc: Double? {
        var negativesBelow = 0.0, wins = 0.0
        var p = 0.0, n = 0.0
        for b in 0..<Self.bins {
            let pos = Double(positives[b]), neg = Double(negatives[b])
            wins += pos * (negativesBelow + 0.5 * neg)
            negativesBelow += neg
            p += pos
            n += neg
        }
        guard p > 0, n > 0 else { return nil }
        return wins / (p * n)
    }

    /// The bound on |auc - exact AUC|: half the share of pairs tied within a bin.
    public var aucResolution: Double {
        let p = Double(positives.reduce(0, +)), n = Double(negatives.reduce(0, +))
        guard p > 0, n > 0 else { return 0 }
        return 0.5 * zip(positives, negatives).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / (p * n)
    }

    public var logLoss: Double? { examples > 0 ? logLossSum / Double(examples) : nil }
}
