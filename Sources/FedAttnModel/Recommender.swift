import RealModule

/// Ranks candidate items for one user given their history: what a shop would show them.
public struct Recommender: Sendable {
    public let model: AttentionModel

    public init(model: AttentionModel) { self.model = model }

    /// Scores each candidate (an embedding row) for the given history and strategy and
    /// returns the best `k` as (candidate index, score), best first. The score is the
    /// probability that the user interacts with the item and clicks it (`rankingScores`).
    public func rank(candidates: [Int32], history: [Int32], strategy: Int32, k: Int) -> [(index: Int, score: Float)] {
        var examples = ExampleSet()
        let history = history.suffix(model.config.historyLength)
        for row in candidates { examples.append(candidate: row, strategy: strategy, label: 0, history: history) }
        let scores = model.rankingScores(for: examples).map { Float.exp($0) }
        return scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            .prefix(k).map { ($0, scores[$0]) }
    }
}
