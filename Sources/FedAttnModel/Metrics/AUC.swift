/// Area under the ROC curve.
public enum AUC {
    /// The exact AUC: the probability that a random positive scores above a random negative,
    /// ties counting one half (the Mann-Whitney statistic with mid-ranks). Nil when the labels
    /// are all of one class, where AUC is undefined.
    public static func exact(scores: [Float], labels: [Float]) -> Double? {
        precondition(scores.count == labels.count, "Need one label per score: \(scores.count) scores, \(labels.count) labels.")
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var positives = 0.0, negatives = 0.0
        var positiveRankSum = 0.0
        var i = 0
        while i < order.count {
            // The run [i, j) shares one score; each member gets the mean rank (1-based).
            var j = i
            var runPositives = 0.0
            while j < order.count && scores[order[j]] == scores[order[i]] {
                if labels[order[j]] > 0.5 { runPositives += 1 }
                j += 1
            }
            let meanRank = Double(i + 1 + j) / 2
            positiveRankSum += runPositives * meanRank
            positives += runPositives
            negatives += Double(j - i) - runPositives
            i = j
        }
        guard positives > 0, negatives > 0 else { return nil }
        return (positiveRankSum - positives * (positives + 1) / 2) / (positives * negatives)
    }
}
