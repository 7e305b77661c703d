import FedAttnAggregation
public import FedAttnModel
import Foundation

/// Whether a federation pools its silos' item counts for the most-popular baseline, or why
/// not: what a client is told at Join (protocol `PopularityPooling`, protocol 10).
public enum PopularityPolicy: String, Sendable, Equatable {
    /// Counts are pooled: a client shares its own (or declines) once, after Join.
    case on
    /// Secure aggregation runs: the counts would travel in the clear beside updates the
    /// coordinator must not see. None are pooled.
    case offSecureAggregation = "secure-aggregation"
    /// DP-SGD or DP-FedAvg runs: exact counts would spend no privacy budget yet reveal a
    /// silo's exact item frequencies. None are pooled.
    case offDifferentialPrivacy = "differential-privacy"
    /// A coordinator of protocol 9 (which says nothing of it), or a client of 9: no counts.
    case unspecified

    /// The policy of a coordinator run with `config`.
    public init(_ config: CoordinatorConfig) {
        if config.secureAggregation != nil {
            self = .offSecureAggregation
        } else if config.examplePrivacy != nil || config.server.isClientLevelDP {
            self = .offDifferentialPrivacy
        } else {
            self = .on
        }
    }
}

/// A served federation's most-popular-items baseline, as `history`, the report and the status
/// page show it: the items' train-row counts summed over the silos that shared them, scored
/// by each silo on its own test users with the model's ranking protocol (the same negatives),
/// the silos' sums added up; or why it was not measured.
public struct PopularityBaseline: Sendable, Equatable {
    /// Where the baseline stands.
    public enum Status: String, Sendable, Equatable {
        /// Counts are being pooled (until the first evaluation begins).
        case pooling
        /// Counts are pooled; silos score the baseline as they evaluate.
        case pooled
        /// Not measured: secure aggregation runs (the counts would be sent in the clear).
        case secureAggregation = "secure-aggregation"
        /// Not measured: differential privacy runs (exact counts, outside the budget).
        case differentialPrivacy = "differential-privacy"
        /// Not measured: no silo shared its counts before the pool closed.
        case noCounts = "no-counts"
        /// Not measured: the pooled counts name more items than a message carries.
        case tooManyItems = "too-many-items"
        /// Not measured: fewer silos shared their counts than the federation pools from
        /// (`CoordinatorConfig.popularityMinimumSilos`), so that no silo reads another's.
        case tooFewSilos = "too-few-silos"
    }

    public var status: Status
    /// Silos whose counts the pooled ones sum, by name.
    public var pooledFrom: [String]
    /// Silos that declined to share (`join --no-share-popularity`), by name.
    public var declined: [String]
    /// Silos of wire protocol 9, which shares no counts, by name.
    public var oldProtocol: [String]
    /// Items the pooled counts name.
    public var items: Int
    /// Silos whose baseline sums `sums` adds, by name.
    public var scoredBy: [String]
    /// The baseline's ranking sums, added over `scoredBy`.
    public var sums: RankingSums

    public init(
        status: Status, pooledFrom: [String] = [], declined: [String] = [], oldProtocol: [String] = [], items: Int = 0, scoredBy: [String] = [],
        sums: RankingSums = RankingSums()
    ) {
        self.status = status
        self.pooledFrom = pooledFrom
        self.declined = declined
        self.oldProtocol = oldProtocol
        self.items = items
        self.scoredBy = scoredBy
        self.sums = sums
    }

    /// Whether some silo scored it: its figures are `sums`'.
    public var isMeasured: Bool { status == .pooled && !scoredBy.isEmpty }

    /// Why there are no figures (nil when there are), in words.
    public var whyNotMeasured: String? {
        switch status {
        case .pooled where !scoredBy.isEmpty: nil
        case .pooled: "counts pooled from \(Self.silos(pooledFrom.count)); no silo has scored the baseline yet"
        case .pooling: "counts being pooled (\(Self.silos(pooledFrom.count)) so far); scored from the first evaluation on"
        case .secureAggregation: "not measured under secure aggregation (its counts would be sent in the clear)"
        case .differentialPrivacy:
            "not measured under differential privacy (exact item counts would spend no privacy budget yet reveal each silo's item frequencies)"
        case .noCounts: "not measured: no silo shared its item counts"
        case .tooManyItems:
            "not measured: the pooled counts name \(items) items, more than the \(PopularityPool.maxItems) a message carries"
        case .tooFewSilos:
            "not measured: only \(Self.silos(pooledFrom.count)) shared item counts, fewer than the federation pools from (with two, each could read the other's counts from the pool)"
        }
    }

    /// The silos that shared none, with why, or "" (e.g. "; no counts from news (declined), shop (protocol 9)").
    public var notShared: String {
        let named = declined.map { "\($0) (declined)" } + oldProtocol.map { "\($0) (protocol 9)" }
        return named.isEmpty ? "" : "; no counts from " + named.joined(separator: ", ")
    }

    /// One line, as `history` and the report print it under the rounds (the figures as
    /// `simulate` prints its own).
    public var line: String {
        guard isMeasured else { return "popularity: " + (whyNotMeasured ?? "") + notShared }
        let s = sums
        return String(
            format: "most popular items (counts summed over %@, scored by %@): HR@10 %@, NDCG@10 %@, Recall@20 %@, NDCG@20 %@",
            Self.silos(pooledFrom.count), Self.silos(scoredBy.count), Self.metric(s.hitRate), Self.metric(s.ndcg), Self.metric(s.recallAt20),
            Self.metric(s.ndcgAt20))
            + notShared
    }

    static func silos(_ count: Int) -> String { "\(count) silo\(count == 1 ? "" : "s")" }
    static func metric(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "n/a" }
}
