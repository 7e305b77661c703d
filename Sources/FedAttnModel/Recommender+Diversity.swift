import FedAttnCore
import RealModule

extension Recommender {
    /// What re-ranking for variety (`diversify`) costs and buys, over the ranking cases of
    /// `set`: each user's list of `k` is its top candidates over the whole catalogue, re-ranked
    /// by maximal marginal relevance at `diversity`; its target's place in the list gives
    /// Recall@k and NDCG@k, the list's mean pairwise (1 - cosine similarity) of the item
    /// embeddings its intra-list diversity (Ziegler et al., WWW 2005), and the share of
    /// `catalogue` recommended to anyone its coverage.
    public struct DiversityFigures: Sendable, Equatable {
        public let diversity: Float
        public let users: Int
        public let recall: Double
        public let ndcg: Double
        public let intraListDiversity: Double
        public let coverage: Double
    }

    /// `DiversityFigures` at each of `levels`, lists of `k` (20: the catalogue metrics' K).
    public func diversityTradeOff(_ set: RankingSet, catalogue: [Int32], levels: [Float], k: Int = 20, threads: Int = 1) -> [DiversityFigures] {
        let profiles = (0..<set.count).map { user in
            Profile(
                history: Array(set.targets.history(user)),
                excluded: set.interacted[set.interactedStarts[user]..<set.interactedStarts[user + 1]].filter { $0 != set.targets.candidates[user] },
                strategy: set.targets.strategies[user])
        }
        let unit = unitEmbeddings()
        let d = model.config.dim
        return levels.map { level in
            let lists = recommend(profiles, candidates: catalogue, k: k, diversity: level, threads: threads)
            var hits = 0, ndcg = 0.0, ild = 0.0
            var shown = Set<Int32>()
            for (user, list) in lists.enumerated() {
                let items = list.map { catalogue[$0.index] }
                shown.formUnion(items)
                if let place = items.firstIndex(of: set.targets.candidates[user]) {
                    hits += 1
                    ndcg += 1 / Double.log2(Double(place) + 2)
                }
                var pairs = 0, distance = 0.0
                for a in items.indices {
                    for b in items.indices where b > a {
                        var dot: Float = 0
                        for j in 0..<d { dot += unit[Int(items[a]) * d + j] * unit[Int(items[b]) * d + j] }
                        distance += Double(1 - dot)
                        pairs += 1
                    }
                }
                ild += pairs > 0 ? distance / Double(pairs) : 0
            }
            let users = max(1, lists.count)
            return DiversityFigures(
                diversity: level, users: lists.count, recall: Double(hits) / Double(users), ndcg: ndcg / Double(users),
                intraListDiversity: ild / Double(users), coverage: Double(shown.count) / Double(max(1, catalogue.count)))
        }
    }

    /// The item table with each row scaled to unit length (zero rows stay zero).
    func unitEmbeddings() -> [Float] {
        let d = model.config.dim
        var table = model.parameters.tensor(AttentionModel.TensorName.items)!
        for row in 0..<(table.count / d) {
            let norm = table[(row * d)..<((row + 1) * d)].reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { for j in 0..<d { table[row * d + j] /= norm } }
        }
        return table
    }
}
