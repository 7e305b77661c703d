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

    public init(
        test: EvaluationSummary = EvaluationSummary(), validation: EvaluationSummary = EvaluationSummary(), ranking: RankingSums = RankingSums()
    ) {
        self.test = test
        self.validation = validation
        self.ranking = ranking
    }

    /// Adds another client's report.
    public mutating func merge(_ other: EvaluationReport) {
        test.merge(other.test)
        validation.merge(other.validation)
        ranking.merge(other.ranking)
    }
}

/// Sums of the leave-one-out ranking protocol of the recommendation literature (He et al.,
/// "Neural Collaborative Filtering", WWW 2017; used by FedGNN, FedFast and most federated
/// recommenders): for each user, the last clicked test item is ranked among `negatives`
/// items the user never interacted with; HR@K counts it in the top K, NDCG@K adds
/// 1 / log2(rank + 2) when it is (rank from 0). Sums pool across clients.
public struct RankingSums: Sendable, Equatable {
    /// Users ranked.
    public var users: Int
    /// Users whose item ranked in the top K.
    public var hits: Int
    /// Sum over users of 1 / log2(rank + 2) for those in the top K.
    public var ndcgSum: Double

    /// The K of HR@K and NDCG@K.
    public static let k = 10
    /// Sampled items each user's item is ranked against.
    public static let negatives = 99

    public init(users: Int = 0, hits: Int = 0, ndcgSum: Double = 0) {
        self.users = users
        self.hits = hits
        self.ndcgSum = ndcgSum
    }

    /// Adds one user whose item ranked `rank` (0 is first).
    public mutating func add(rank: Int) {
        users += 1
        if rank < Self.k {
            hits += 1
            ndcgSum += 1 / log2(Double(rank) + 2)
        }
    }

    public mutating func merge(_ other: RankingSums) {
        users += other.users
        hits += other.hits
        ndcgSum += other.ndcgSum
    }

    /// HR@10, or nil without users.
    public var hitRate: Double? { users > 0 ? Double(hits) / Double(users) : nil }
    /// NDCG@10, or nil without users.
    public var ndcg: Double? { users > 0 ? ndcgSum / Double(users) : nil }
}
