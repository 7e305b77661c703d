import RealModule

/// Mean binary cross-entropy.
public enum LogLoss {
    /// The mean log loss of logits against labels, computed from the logit so that a
    /// confident mistake costs its true (large, finite) amount rather than log(0).
    public static func fromLogits(_ logits: [Float], labels: [Float]) -> Double? {
        precondition(logits.count == labels.count, "Need one label per logit: \(logits.count) logits, \(labels.count) labels.")
        guard !logits.isEmpty else { return nil }
        var total = 0.0
        for (o, y) in zip(logits, labels) { total += Double(sigmoidBCEForward(logit: o, label: y)) }
        return total / Double(logits.count)
    }

    /// The mean log loss of probabilities, each clipped to [1e-7, 1 - 1e-7] as Keras does.
    public static func fromProbabilities(_ probabilities: [Float], labels: [Float]) -> Double? {
        precondition(probabilities.count == labels.count, "Need one label per probability.")
        guard !probabilities.isEmpty else { return nil }
        var total = 0.0
        for (p, y) in zip(probabilities, labels) {
            let q = min(max(Double(p), 1e-7), 1 - 1e-7)
            total -= Double(y) * Double.log(q) + (1 - Double(y)) * Double.log(1 - q)
        }
        return total / Double(probabilities.count)
    }
}
