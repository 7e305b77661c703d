import FedAttnCore
import RealModule

/// Ranks candidate items for users given their histories: what a shop would show them.
public struct Recommender: Sendable {
    public let model: AttentionModel

    public init(model: AttentionModel) { self.model = model }

    /// What a recommendation for one user starts from.
    public struct Profile: Sendable {
        /// The user's latest clicked item rows, oldest first.
        public var history: [Int32]
        /// Item rows never to recommend to this user (what it already has), ascending.
        public var excluded: [Int32]
        public var strategy: Int32

        public init(history: [Int32], excluded: [Int32], strategy: Int32 = 0) {
            self.history = history
            self.excluded = excluded.sorted()
            self.strategy = strategy
        }
    }

    /// The best `k` of `candidates` (embedding rows) for each profile, best first, as
    /// (candidate index, score: the probability of an interaction and a click), leaving out
    /// each profile's excluded rows. Each user's candidates share one copy of its history;
    /// users are scored in batches of about 32k candidates on `threads` threads. With
    /// `diversity` above 0 the list is re-ranked by maximal marginal relevance (`diversify`).
    public func recommend(_ profiles: [Profile], candidates: [Int32], k: Int, diversity: Float = 0, threads: Int = 1)
        -> [[(index: Int, score: Float)]]
    {
        precondition(k >= 1, "k must be at least 1")
        let perBatch = max(1, 32_768 / max(1, candidates.count))
        var lists: [[(index: Int, score: Float)]] = []
        lists.reserveCapacity(profiles.count)
        var first = 0
        while first < profiles.count {
            let users = first..<min(profiles.count, first + perBatch)
            var batch = ExampleSet()
            for user in users {
                let profile = profiles[user]
                let start = batch.clickCount
                for item in profile.history.suffix(model.config.historyLength) { batch.appendClick(item) }
                for row in candidates { batch.append(candidate: row, strategy: profile.strategy, label: 0, window: start..<batch.clickCount) }
            }
            let scores = model.rankingScores(for: batch, threads: threads)
            for (n, user) in users.enumerated() {
                let excluded = profiles[user].excluded[...]
                let offset = n * candidates.count
                // The best max(k, pool) by score (ties to the earlier candidate), excluded rows left out.
                let pool = diversity > 0 ? max(5 * k, 50) : k
                let order = candidates.indices.filter { !excluded.containsSorted(candidates[$0]) }
                    .sorted { scores[offset + $0] > scores[offset + $1] || (scores[offset + $0] == scores[offset + $1] && $0 < $1) }
                    .prefix(pool)
                let ranked = order.map { (index: $0, score: Float.exp(scores[offset + $0])) }
                lists.append(diversity > 0 ? diversify(ranked, candidates: candidates, k: k, diversity: diversity) : Array(ranked.prefix(k)))
            }
            first = users.upperBound
        }
        return lists
    }

    /// Maximal marginal relevance (Carbonell and Goldstein, SIGIR 1998): items are taken one
    /// at a time, each the candidate that maximises (1 - diversity) x relevance - diversity x
    /// (its largest cosine similarity to an item already taken), relevance being the score
    /// scaled to [0, 1] over the candidates and similarity that of the items' embeddings.
    /// `diversity` 0 keeps the order by score; 1 ignores relevance after the first item.
    public func diversify(_ ranked: [(index: Int, score: Float)], candidates: [Int32], k: Int, diversity: Float)
        -> [(index: Int, score: Float)]
    {
        guard let top = ranked.first?.score, let bottom = ranked.last?.score else { return [] }
        let d = model.config.dim
        let table = model.parameters.tensor(AttentionModel.TensorName.items)!
        let vectors: [[Float]] = ranked.map { entry in
            let row = Int(candidates[entry.index])
            let v = table[(row * d)..<((row + 1) * d)]
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? v.map { $0 / norm } : Array(v)
        }
        let span = top - bottom
        var closest = [Float](repeating: -1, count: ranked.count)  // largest similarity to a chosen item
        var taken = [Bool](repeating: false, count: ranked.count)
        var chosen: [(index: Int, score: Float)] = []
        while chosen.count < min(k, ranked.count) {
            var best = -1, bestValue = -Float.infinity
            for i in ranked.indices where !taken[i] {
                let relevance = span > 0 ? (ranked[i].score - bottom) / span : 1
                let value = (1 - diversity) * relevance - diversity * (chosen.isEmpty ? 0 : closest[i])
                if value > bestValue { (best, bestValue) = (i, value) }
            }
            taken[best] = true
            chosen.append(ranked[best])
            for i in ranked.indices where !taken[i] {
                var dot: Float = 0
                for j in 0..<d { dot += vectors[i][j] * vectors[best][j] }
                closest[i] = max(closest[i], dot)
            }
        }
        return chosen
    }
}
