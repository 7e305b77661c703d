import Foundation

/// What a client reports about a global model each round: score summaries of its test and
/// validation splits (the validation split is carved from its train rows, for choosing the
/// round to keep without looking at test figures; empty when it carved none), and its
/// leave-one-out ranking sums. Reports from many clients add up (`merge`); no prediction,
/// id or example leaves the client.
public struct EvaluationReport: Sendable, Equatable {
    public var test: EvaluationSummary
    public var validation: EvaluationSummary
    public var ranking: RankingSums
    /// The sampled ranking of each user's last clicked validation item (model selection by
    /// ranking; no catalogue sums).
    public var validationRanking: RankingSums
    /// The most popular items (by a federation's pooled counts) ranked on the same test users
    /// with the same protocol: sent once per silo, beside one evaluation (nil in the others).
    /// Not added by `merge`: a coordinator pools it on its own.
    public var popularity: RankingSums? = nil

    public init(
        test: EvaluationSummary = EvaluationSummary(), validation: EvaluationSummary = EvaluationSummary(), ranking: RankingSums = RankingSums(),
        validationRanking: RankingSums = RankingSums()
    ) {
        self.test = test
        self.validation = validation
        self.ranking = ranking
        self.validationRanking = validationRanking
    }

    /// Adds another client's report.
    public mutating func merge(_ other: EvaluationReport) {
        test.merge(other.test)
        validation.merge(other.validation)
        ranking.merge(other.ranking)
        validationRanking.merge(other.validationRanking)
    }
}

/// Sums of the leave-one-out ranking protocols, pooled across clients.
///
/// Sampled (He et al., "Neural Collaborative Filtering", WWW 2017; used by FedGNN, FedFast
/// and most federated recommenders): each user's last clicked test item is ranked among
/// `negatives` items the user never interacted with; HR@10 counts it in the top 10, NDCG@10
/// adds 1 / log2(rank + 2) when it is (rank from 0).
///
/// Whole catalogue (Krichene and Rendle, "On Sampled Metrics for Item Recommendation", KDD
/// 2020, who show sampled metrics can rank two models the wrong way round): the same item
/// ranked among every catalogue item the user never interacted with; Recall@20 (one target
/// a user: the share in the top 20) and NDCG@20.
public struct RankingSums: Sendable, Equatable {
    /// Users ranked by the sampled protocol.
    public var users: Int
    /// Users whose item ranked in the top 10 of its sampled list.
    public var hits: Int
    /// Sum over users of 1 / log2(rank + 2) for those in the top 10.
    public var ndcgSum: Double
    /// Users ranked over the whole catalogue.
    public var catalogueUsers: Int
    /// Users whose item ranked in the top 20 of the catalogue.
    public var hitsAt20: Int
    /// Sum over users of 1 / log2(rank + 2) for those in the top 20 of the catalogue.
    public var ndcgAt20Sum: Double

    /// The K of HR@K and NDCG@K.
    public static let k = 10
    /// The K of the whole-catalogue Recall@K and NDCG@K.
    public static let catalogueK = 20
    /// Sampled items each user's item is ranked against.
    public static let negatives = 99

    public init(users: Int = 0, hits: Int = 0, ndcgSum: Double = 0, catalogueUsers: Int = 0, hitsAt20: Int = 0, ndcgAt20Sum: Double = 0) {
        self.users = users
        self.hits = hits
        self.ndcgSum = ndcgSum
        self.catalogueUsers = catalogueUsers
        self.hitsAt20 = hitsAt20
        self.ndcgAt20Sum = ndcgAt20Sum
    }

    /// Adds one user whose item ranked `rank` (0 is first) in its sampled list.
    public mutating func add(rank: Int) {
        users += 1
        if rank < Self.k {
            hits += 1
            ndcgSum += 1 / log2(Double(rank) + 2)
        }
    }

    /// Adds one user whose item ranked `rank` (0 is first) over the whole catalogue.
    public mutating func add(catalogueRank rank: Int) {
        catalogueUsers += 1
        if rank < Self.catalogueK {
            hitsAt20 += 1
            ndcgAt20Sum += 1 / log2(Double(rank) + 2)
        }
    }

    public mutating func merge(_ other: RankingSums) {
        users += other.users
        hits += other.hits
        ndcgSum += other.ndcgSum
        catalogueUsers += other.catalogueUsers
        hitsAt20 += other.hitsAt20
        ndcgAt20Sum += other.ndcgAt20Sum
    }

    /// These sums weighed by `weight` in [0, 1]: the sampled and catalogue users scaled by it
    /// (rounded), hits and NDCG sums in proportion, so the metrics stay what they were and a
    /// pooled figure counts them as a smaller share.
    public func scaled(by weight: Double) -> RankingSums {
        guard weight < 1 else { return self }
        let w = max(0, weight)
        func part(_ users: Int, _ hits: Int, _ sum: Double) -> (Int, Int, Double) {
            let kept = Int((Double(users) * w).rounded())
            guard users > 0, kept > 0 else { return (0, 0, 0) }
            let share = Double(kept) / Double(users)
            return (kept, min(kept, Int((Double(hits) * share).rounded())), sum * share)
        }
        let sampled = part(users, hits, ndcgSum), catalogue = part(catalogueUsers, hitsAt20, ndcgAt20Sum)
        return RankingSums(
            users: sampled.0, hits: sampled.1, ndcgSum: sampled.2, catalogueUsers: catalogue.0, hitsAt20: catalogue.1, ndcgAt20Sum: catalogue.2)
    }

    /// HR@10, or nil without users.
    public var hitRate: Double? { users > 0 ? Double(hits) / Double(users) : nil }
    /// NDCG@10, or nil without users.
    public var ndcg: Double? { users > 0 ? ndcgSum / Double(users) : nil }
    /// Recall@20 over the whole catalogue, or nil without users.
    public var recallAt20: Double? { catalogueUsers > 0 ? Double(hitsAt20) / Double(catalogueUsers) : nil }
    /// NDCG@20 over the whole catalogue, or nil without users.
    public var ndcgAt20: Double? { catalogueUsers > 0 ? ndcgAt20Sum / Double(catalogueUsers) : nil }
}
