import FedAttnAggregation
public import FedAttnModel
import Foundation

/// Whether a federation pools its silos' item counts for the most-popular baseline, how, or
/// why not: what a client is told at Join (protocol `PopularityPooling`, protocol 10; the
/// secure sum, protocol 11).
public enum PopularityPolicy: String, Sendable, Equatable {
    /// Counts are pooled: a client shares its own (or declines) once, after Join.
    case on
    /// Secure aggregation runs (protocol 11): no counts travel in the clear; each client puts
    /// its counts (or zeros, declining) in the indicator sum of the secure rounds whose task
    /// carries them, and the coordinator unmasks only their sum.
    case secureSum = "secure-sum"
    /// Secure aggregation runs and the client joined with protocol 10 (or the coordinator sums
    /// no counts): its counts would travel in the clear beside updates the coordinator must
    /// not see. None are pooled from it.
    case offSecureAggregation = "secure-aggregation"
    /// DP-SGD or DP-FedAvg runs: exact counts would spend no privacy budget yet reveal a
    /// silo's exact item frequencies. None are pooled (with secure aggregation too).
    case offDifferentialPrivacy = "differential-privacy"
    /// A coordinator of protocol 9 (which says nothing of it), or a client of 9: no counts.
    case unspecified

    /// The policy of a coordinator run with `config`.
    public init(_ config: CoordinatorConfig) {
        if config.examplePrivacy != nil || config.server.isClientLevelDP {
            self = .offDifferentialPrivacy
        } else if config.secureAggregation != nil {
            self = .secureSum
        } else {
            self = .on
        }
    }

    /// What a client joining with `protocolVersion` is told: nothing before protocol 10
    /// (`.unspecified`), and no secure sum before 11 (`.offSecureAggregation`: it cannot put
    /// counts in a secure round's vector).
    public func told(protocolVersion: UInt32) -> PopularityPolicy {
        guard protocolVersion >= Coordinator.popularityProtocol else { return .unspecified }
        if self == .secureSum && protocolVersion < Coordinator.secureCountsProtocol { return .offSecureAggregation }
        return self
    }
}

/// A served federation's most-popular-items baseline, as `history`, the report and the status
/// page show it: the items' train-row counts summed over the silos that shared them (in the
/// clear, or under secure aggregation as a secure sum), scored by each silo on its own test
/// users with the model's ranking protocol (the same negatives), the silos' sums added up; or
/// why it was not measured.
public struct PopularityBaseline: Sendable, Equatable {
    /// Where the baseline stands.
    public enum Status: String, Sendable, Equatable {
        /// Counts are being pooled (until the first evaluation begins).
        case pooling
        /// Under the secure sum: a secure round's indicator sum carries the counts, not yet
        /// unmasked. Stored before the round's first task goes out, so that a coordinator
        /// resumed from it never sums the counts again (`interrupted`).
        case summing
        /// Not measured, under the secure sum: the coordinator stopped while a sum of the counts
        /// was under way; it may have been unmasked, and a second sum over other silos would
        /// subtract into one silo's counts, so none is made.
        case interrupted
        /// Counts are pooled; silos score the baseline as they evaluate.
        case pooled
        /// Not measured: secure aggregation ran under a coordinator that summed no counts (a
        /// state folder of release 0.2; a coordinator of protocol 11 pools it afresh).
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
        /// Not measured, under the secure sum: the silos of the round that was to carry the
        /// counts declared 2^32 or more training examples in all, which a count of the
        /// 32-bit ring might not hold.
        case tooManyExamples = "too-many-examples"
        /// Not measured, under the secure sum: the unmasked sum was not one honest silos send
        /// (more silos sharing than summed, counts past what they declared, or a count of
        /// row 0): some silo sent other than its counts and flag.
        case implausibleSum = "implausible-sum"
    }

    public var status: Status
    /// Silos whose counts the pooled ones sum, by name (in the clear only: under the secure
    /// sum the coordinator cannot tell who shared; see `summedOver` and `sharedBy`).
    public var pooledFrom: [String]
    /// Whether the counts are summed securely (secure aggregation, protocol 11).
    public var summedSecurely: Bool
    /// Under the secure sum: the silos of the indicator sum that carried the counts (each
    /// shared or declined), by name; those the pool is handed to.
    public var summedOver: [String]
    /// Under the secure sum: how many of `summedOver` shared (their shared flags' sum).
    public var sharedBy: Int
    /// Silos that declined to share (`join --no-share-popularity`), by name.
    public var declined: [String]
    /// Silos whose wire protocol shares no counts, by name: 9 (before the baseline), or under
    /// the secure sum, 9 or 10 (before the secure sum).
    public var oldProtocol: [String]
    /// Items the pooled counts name.
    public var items: Int
    /// Silos whose baseline sums `sums` adds, by name.
    public var scoredBy: [String]
    /// The baseline's ranking sums, added over `scoredBy`.
    public var sums: RankingSums

    public init(
        status: Status, pooledFrom: [String] = [], declined: [String] = [], oldProtocol: [String] = [], items: Int = 0, scoredBy: [String] = [],
        sums: RankingSums = RankingSums(), summedSecurely: Bool = false, summedOver: [String] = [], sharedBy: Int = 0
    ) {
        self.status = status
        self.pooledFrom = pooledFrom
        self.summedSecurely = summedSecurely
        self.summedOver = summedOver
        self.sharedBy = sharedBy
        self.declined = declined
        self.oldProtocol = oldProtocol
        self.items = items
        self.scoredBy = scoredBy
        self.sums = sums
    }

    /// Whether some silo scored it: its figures are `sums`'.
    public var isMeasured: Bool { status == .pooled && !scoredBy.isEmpty }

    /// How many silos' counts the pool holds: those named in the clear, or the secure sum's sharers.
    public var sharers: Int { summedSecurely ? sharedBy : pooledFrom.count }

    /// Where the pooled counts come from, in words: "counts summed over 3 silos", or under
    /// secure aggregation "counts securely summed over 3 silos".
    public var pooledWords: String { "counts \(summedSecurely ? "securely " : "")summed over \(Self.silos(sharers))" }

    /// Why there are no figures (nil when there are), in words.
    public var whyNotMeasured: String? {
        switch status {
        case .pooled where !scoredBy.isEmpty: nil
        case .pooled: "\(pooledWords); no silo has scored the baseline yet"
        case .pooling where summedSecurely:
            "not measured yet: the counts are summed securely in the first secure round whose silos all speak wire protocol 11, enough of them sharing (none so far)"
        case .pooling: "counts being pooled (\(Self.silos(pooledFrom.count)) so far); scored from the first evaluation on"
        case .summing: "not measured yet: a secure round's indicator sum carries the counts; scored once it is unmasked"
        case .interrupted:
            "not measured: the coordinator stopped while a secure sum of the counts was under way, and a second sum over other silos could reveal one silo's counts"
        case .secureAggregation: "not measured under secure aggregation (a coordinator before wire protocol 11 summed no counts)"
        case .differentialPrivacy:
            "not measured under differential privacy (exact item counts would spend no privacy budget yet reveal each silo's item frequencies)"
        case .noCounts: "not measured: no silo shared its item counts"
        case .tooManyItems where summedSecurely:
            "not measured: the model has \(items) item rows, more than the \(PopularityPool.maxItems) pooled counts a message carries, so no secure round carries counts"
        case .tooManyItems:
            "not measured: the pooled counts name \(items) items, more than the \(PopularityPool.maxItems) a message carries"
        case .tooFewSilos:
            "not measured: only \(Self.silos(sharers)) shared item counts, fewer than the federation pools from (with two, each could read the other's counts from the pool)"
        case .tooManyExamples:
            "not measured: the silos of the round that was to carry the counts declared 2^32 or more training examples in all, more than the secure sum's 32-bit counts hold"
        case .implausibleSum:
            "not measured: the secure sum of the item counts is not one honest silos send (a silo sent other than its counts and shared flag)"
        }
    }

    /// The silos that shared none, with why, or "" (e.g. "; no counts from news (declined), shop
    /// (protocol 9)"; under the secure sum, "(protocol before 11)").
    public var notShared: String {
        let old = summedSecurely ? "protocol before 11" : "protocol 9"
        let named = declined.map { "\($0) (declined)" } + oldProtocol.map { "\($0) (\(old))" }
        return named.isEmpty ? "" : "; no counts from " + named.joined(separator: ", ")
    }

    /// One line, as `history` and the report print it under the rounds (the figures as
    /// `simulate` prints its own).
    public var line: String {
        guard isMeasured else { return "popularity: " + (whyNotMeasured ?? "") + notShared }
        let s = sums
        return String(
            format: "most popular items (%@, scored by %@): HR@10 %@, NDCG@10 %@, Recall@20 %@, NDCG@20 %@", pooledWords,
            Self.silos(scoredBy.count), Self.metric(s.hitRate), Self.metric(s.ndcg), Self.metric(s.recallAt20), Self.metric(s.ndcgAt20))
            + notShared
    }

    static func silos(_ count: Int) -> String { "\(count) silo\(count == 1 ? "" : "s")" }
    static func metric(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "n/a" }
}
