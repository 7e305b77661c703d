package import FedAttnModel
import Foundation

/// One round's evaluations, silo by silo, and the figures pooled from them so that no single
/// silo chooses a figure or the round kept. A silo's report is a claim the coordinator cannot
/// check against data it never sees; what it can bound is how far one claim moves the result.
///
/// - **Pooled figures** (test AUC, HR@10, Recall@20, log loss) still add the silos' sums, but
///   a silo whose counts are out of proportion to the training examples it declared at Join
///   (more than `maxShareRatio` times the median silo's count per declared example) is
///   weighed down to that ratio: its pull on a pooled figure is bounded by its declared share.
/// - **Selection scores** (validation AUC, validation NDCG@10: what the kept round and early
///   stopping go by) are trimmed means of the silos' own values (Yin et al., "Byzantine-Robust
///   Distributed Learning: Towards Optimal Statistical Rates", ICML 2018, applied to scores
///   rather than gradients): the `trimmed(n)` highest and lowest of `n` values are dropped
///   before averaging, so one silo of three or more cannot move a score past the range of the
///   honest silos' values, however large the counts it claims. Every silo counts once,
///   whatever its size.
/// - **Disputes**: a silo whose validation AUC, validation NDCG@10, test AUC or HR@10 lies far
///   from the others' (or whose change since its previous round lies far from the others'
///   changes) is named, with its figure and theirs, and left out of the round's figures and
///   scores; the owner logs the names and records them with the round. "Far" is more than
///   `disputeFloor` and more than 5 robust standard deviations (1.4826 times the median
///   absolute deviation) from the median, so honest silos of uneven data are not named.
///
/// Keeps every report whole until the round closes: about 130 KB a silo (four histograms of
/// `EvaluationSummary.bins` bins).
package struct RoundEvaluations: Sendable {
    /// One silo's report and what it declared at Join.
    package struct Entry: Sendable {
        let client: String
        let declaredExamples: Int
        let report: EvaluationReport
    }

    package typealias Scores = SiloScores

    /// What a round's evaluations pool to.
    package struct Pooled: Sendable {
        /// The silos' sums, each weighed to at most `maxShareRatio` times its declared share.
        package var report = EvaluationReport()
        /// Trimmed means of the silos' validation AUC and NDCG@10 (nil: no silo had one).
        package var validationAUC: Double?
        package var validationNDCG: Double?
        /// Each silo named, with why, in the order they reported.
        package var disputes: [String] = []
        /// Every silo's own values, for the next round's comparison.
        package var scores: [String: Scores] = [:]
        /// The values of the silos the round's figures count (not those left out).
        package var counted: [String: Scores] = [:]
    }

    /// How many times the median silo's count per declared example a silo may report before
    /// it is weighed down. Honest silos of one data set report test and validation rows in
    /// about the same proportion to their train rows (the split is per user, by time); 2
    /// leaves room for uneven silos while bounding a forger to twice its share.
    package static let maxShareRatio = 2.0
    /// The least distance from the median that counts as disagreeing, in AUC or NDCG units:
    /// honest silos of a skewed split differ by less (on MovieLens `dirichlet0.5-10` one
    /// silo's validation AUC sits up to 0.18 below the median, round after round), a forged
    /// claim of a perfect or a useless model by more.
    package static let disputeFloor = 0.25

    private(set) var entries: [Entry] = []

    package var count: Int { entries.count }

    package init() {}

    package mutating func add(client: String, declaredExamples: Int, report: EvaluationReport) {
        entries.append(Entry(client: client, declaredExamples: max(declaredExamples, 1), report: report))
    }

    /// Values dropped at each end of `n` before averaging: none below 3 silos (a trimmed mean
    /// of two is their mean: two silos cannot outvote each other), else a tenth, at least one.
    package static func trimmed(_ n: Int) -> Int { n >= 3 ? max(1, n / 10) : 0 }

    /// The mean of `values` without the `trimmed(count)` lowest and highest; nil when empty.
    package static func trimmedMean(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let k = trimmed(values.count)
        let kept = values.sorted()[k..<(values.count - k)]
        return kept.reduce(0, +) / Double(kept.count)
    }

    /// The median of `values` (the lower of the middle two for an even count, so that of two
    /// silos the smaller claim sets the scale); nil when empty.
    static func lowerMedian(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.sorted()[(values.count - 1) / 2]
    }

    /// The median of `values` (the mean of the middle two for an even count); nil when empty.
    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted(), middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Pools the reports; `previous` holds the silos' values of the round before (for the
    /// change test). Disagreeing silos are left out of every pooled figure and score; the
    /// others count up to their share.
    package func pooled(previous: [String: Scores] = [:]) -> Pooled {
        var out = Pooled()
        for entry in entries {
            let r = entry.report
            out.scores[entry.client] = Scores(
                validationAUC: r.validation.auc, validationNDCG: r.validationRanking.ndcg, testAUC: r.test.auc, hitRate: r.ranking.hitRate)
        }
        var excluded: Set<String> = []
        for (name, value) in [
            ("validation AUC", \Scores.validationAUC), ("validation NDCG@10", \Scores.validationNDCG), ("test AUC", \Scores.testAUC),
            ("HR@10", \Scores.hitRate),
        ] {
            for (client, why) in disagreements(name, out.scores.mapValues { $0[keyPath: value] }, previous.mapValues { $0[keyPath: value] })
            where !excluded.contains(client) {
                excluded.insert(client)
                out.disputes.append("\(why); left out of the round's figures")
            }
        }
        let kept = entries.filter { !excluded.contains($0.client) }
        for entry in kept { out.counted[entry.client] = out.scores[entry.client] }
        let weights = Self.shareWeights(kept, &out.disputes)
        for (entry, w) in zip(kept, weights) {
            let r = entry.report
            out.report.merge(
                EvaluationReport(
                    test: r.test.scaled(by: w.test), validation: r.validation.scaled(by: w.validation), ranking: r.ranking.scaled(by: w.ranking),
                    validationRanking: r.validationRanking.scaled(by: w.validationRanking)))
        }
        out.validationAUC = Self.trimmedMean(kept.compactMap { out.scores[$0.client]?.validationAUC })
        out.validationNDCG = Self.trimmedMean(kept.compactMap { out.scores[$0.client]?.validationNDCG })
        return out
    }

    private struct Weights {
        var test = 1.0, validation = 1.0, ranking = 1.0, validationRanking = 1.0
    }

    /// Each silo's weight per part of its report: 1, or less for a silo whose count per
    /// declared example is over `maxShareRatio` times the median silo's (named in `disputes`).
    private static func shareWeights(_ entries: [Entry], _ disputes: inout [String]) -> [Weights] {
        var weights = [Weights](repeating: Weights(), count: entries.count)
        let parts: [(String, WritableKeyPath<Weights, Double>, (EvaluationReport) -> Int)] = [
            ("test rows", \.test, { $0.test.examples }),
            ("validation rows", \.validation, { $0.validation.examples }),
            ("ranked users", \.ranking, { max($0.ranking.users, $0.ranking.catalogueUsers) }),
            ("validation ranked users", \.validationRanking, { $0.validationRanking.users }),
        ]
        for (what, weight, count) in parts {
            let ratios = entries.map { Double(count($0.report)) / Double($0.declaredExamples) }
            guard let median = lowerMedian(ratios.filter { $0 > 0 }), median > 0 else { continue }
            for (i, ratio) in ratios.enumerated() where ratio > maxShareRatio * median {
                weights[i][keyPath: weight] = maxShareRatio * median / ratio
                disputes.append(
                    "\(entries[i].client) reports \(count(entries[i].report)) \(what) for the \(entries[i].declaredExamples) training examples it declared, "
                        + "\(format(ratio / median))x the median silo's proportion; weighed as \(format(maxShareRatio))x")
            }
        }
        return weights
    }

    /// The silos whose `values` lie far from the others', or whose change since `previous`
    /// lies far from the others' changes, each with a line saying so.
    private func disagreements(_ name: String, _ values: [String: Double?], _ previous: [String: Double?]) -> [(String, String)] {
        let current = entries.compactMap { e in (values[e.client] ?? nil).map { (e.client, $0) } }
        var named: [(String, String)] = []
        for (client, value, median) in Self.outliers(current) {
            named.append((client, "\(client) reports a \(name) of \(Self.format(value)), the silos' median \(Self.format(median))"))
        }
        let changes = current.compactMap { client, value in (previous[client] ?? nil).map { (client, value - $0) } }
        for (client, change, median) in Self.outliers(changes) where !named.contains(where: { $0.0 == client }) {
            named.append(
                (
                    client,
                    "\(client)'s \(name) moved by \(Self.format(change)) since its previous round, the silos' median change \(Self.format(median))"
                ))
        }
        return named
    }

    /// The entries more than `disputeFloor` and 5 robust standard deviations from the median
    /// (needs three values at least: of two, neither is the odd one out).
    static func outliers(_ values: [(String, Double)]) -> [(String, Double, Double)] {
        guard values.count >= 3, let median = median(values.map(\.1)) else { return [] }
        let spread = 1.4826 * (Self.median(values.map { abs($0.1 - median) }) ?? 0)
        let limit = max(disputeFloor, 5 * spread)
        return values.filter { abs($0.1 - median) > limit }.map { ($0.0, $0.1, median) }
    }

    private static func format(_ value: Double) -> String { String(format: "%.4g", value) }
}

/// One silo's own figures for a round's model: what the kept round is chosen by, silo by
/// silo, so that two rounds evaluated by different silos are compared on the silos they share.
public struct SiloScores: Sendable, Equatable, Codable {
    public var validationAUC: Double?
    public var validationNDCG: Double?
    public var testAUC: Double?
    public var hitRate: Double?

    public init(validationAUC: Double? = nil, validationNDCG: Double? = nil, testAUC: Double? = nil, hitRate: Double? = nil) {
        self.validationAUC = validationAUC
        self.validationNDCG = validationNDCG
        self.testAUC = testAUC
        self.hitRate = hitRate
    }

    enum CodingKeys: String, CodingKey {
        case validationAUC = "validation_auc", validationNDCG = "validation_ndcg_at_10", testAUC = "test_auc", hitRate = "hr_at_10"
    }
}
