import FedAttnFederation
import FedAttnModel
import Foundation
import Testing

/// One silo's forged evaluation neither sets a round's figures nor chooses the kept round: it
/// is named, left out when it is far from the others, and weighed by its declared share
/// otherwise; honest silos pool as they always did.
struct RoundEvaluationsTests {
    /// A summary of `rows` rows (half positive) whose AUC is `auc` to the nearest 2 / rows.
    static func summary(auc: Double, rows: Int = 200) -> EvaluationSummary {
        let half = rows / 2, below = Int((auc * Double(half)).rounded())
        // Positives at logit 1, negatives split between -1 (below them) and 2 (above).
        let logits = [Float](repeating: 1, count: half) + [Float](repeating: -1, count: below) + [Float](repeating: 2, count: half - below)
        let labels = [Float](repeating: 1, count: half) + [Float](repeating: 0, count: half)
        return EvaluationSummary(logits: logits, labels: labels)
    }

    /// A report whose test and validation AUCs are `auc`, `rows` rows each, and whose HR@10
    /// and validation ranking come from `users` users, `hits` of them hit at rank 0.
    static func report(auc: Double, rows: Int = 200, users: Int = 50, hits: Int = 20) -> EvaluationReport {
        let ranking = RankingSums(users: users, hits: hits, ndcgSum: Double(hits))
        return EvaluationReport(
            test: summary(auc: auc, rows: rows), validation: summary(auc: auc, rows: rows), ranking: ranking, validationRanking: ranking)
    }

    /// Ten silos of 1,000 declared examples: nine honest ones whose AUCs spread over
    /// 0.68-0.72, and `tenth` from silo-09.
    static func evaluations(tenth: EvaluationReport) -> RoundEvaluations {
        var evaluations = RoundEvaluations()
        for i in 0..<9 { evaluations.add(client: "silo-0\(i)", declaredExamples: 1_000, report: report(auc: 0.68 + 0.005 * Double(i))) }
        evaluations.add(client: "silo-09", declaredExamples: 1_000, report: tenth)
        return evaluations
    }

    static func honestOnly() -> EvaluationReport {
        var pooled = EvaluationReport()
        for i in 0..<9 { pooled.merge(report(auc: 0.68 + 0.005 * Double(i))) }
        return pooled
    }

    @Test func honestSilosPoolAsBeforeAndNoneIsNamed() throws {
        let pooled = Self.evaluations(tenth: Self.report(auc: 0.7)).pooled()
        var merged = Self.honestOnly()
        merged.merge(Self.report(auc: 0.7))
        #expect(pooled.report == merged)
        #expect(pooled.disputes.isEmpty)
        // To the summaries' 0.01: 0.68, 0.69, 0.69, 0.70, 0.70, 0.71, 0.71, 0.72, 0.72 and a
        // 0.70; one trimmed at each end (0.68, 0.72), the other eight average 0.7025.
        let auc = try #require(pooled.validationAUC)
        #expect(abs(auc - 0.7025) < 1e-9, "\(auc)")
    }

    @Test func aForgedPerfectModelIsNamedAndLeftOutOfTheFiguresAndTheScore() throws {
        // As many rows as it may claim (its whole declaration) and every pair ordered right.
        let pooled = Self.evaluations(tenth: Self.report(auc: 1, rows: 1_000, users: 500, hits: 500)).pooled()
        #expect(pooled.report == Self.honestOnly())
        let auc = try #require(pooled.validationAUC)
        #expect(auc > 0.68 && auc < 0.72, "\(auc)")
        #expect(pooled.disputes.count == 1)
        #expect(pooled.disputes.first?.hasPrefix("silo-09 reports a validation AUC of 1, the silos' median 0.7") == true, "\(pooled.disputes)")
    }

    @Test func aForgedUselessModelCannotDragTheFiguresDown() throws {
        let pooled = Self.evaluations(tenth: Self.report(auc: 0, rows: 1_000, users: 500, hits: 0)).pooled()
        #expect(pooled.report.test.auc == Self.honestOnly().test.auc)
        #expect(pooled.report.ranking.hitRate == Self.honestOnly().ranking.hitRate)
        #expect(pooled.disputes.first?.contains("left out of the round's figures") == true)
    }

    @Test func aPlausibleClaimWithInflatedCountsWeighsNoMoreThanTwiceItsShare() throws {
        // Within the dispute floor of the others (0.60 against 0.70), but with five times the
        // rows per declared example of any other silo: weighed down to twice its share.
        let pooled = Self.evaluations(tenth: Self.report(auc: 0.6, rows: 1_000)).pooled()
        #expect(pooled.disputes.contains { $0.hasPrefix("silo-09 reports 1000 test rows for the 1000 training examples it declared, 5x the median") })
        // The pooled test rows: nine silos of 200 and the forger's 1,000 weighed to 400.
        #expect(pooled.report.test.examples == 9 * 200 + 400)
        let unbounded = {
            var r = Self.honestOnly(); r.merge(Self.report(auc: 0.6, rows: 1_000)); return r
        }()
        let honest = try #require(Self.honestOnly().test.auc), bounded = try #require(pooled.report.test.auc)
        #expect(bounded > (unbounded.test.auc ?? 0) && bounded < honest, "honest \(honest), bounded \(bounded), unbounded \(unbounded.test.auc ?? 0)")
        // The score: a trimmed mean, the forger's 0.6 the lowest value, dropped.
        let auc = try #require(pooled.validationAUC)
        #expect(auc > 0.68, "\(auc)")
    }

    @Test func aSiloThatTurnsAgainstItsOwnEarlierReportsIsNamed() throws {
        // Round 1: silo-09 sits 0.2 below the others (within the floor: a skewed silo may).
        // Round 2: the others gain 0.01 and it claims 0.95, 0.24 above their median (within
        // the floor again), but a change 0.44 away from theirs.
        let first = Self.evaluations(tenth: Self.report(auc: 0.5)).pooled()
        #expect(first.disputes.isEmpty, "\(first.disputes)")
        var second = RoundEvaluations()
        for i in 0..<9 { second.add(client: "silo-0\(i)", declaredExamples: 1_000, report: Self.report(auc: 0.69 + 0.005 * Double(i))) }
        second.add(client: "silo-09", declaredExamples: 1_000, report: Self.report(auc: 0.95))
        let pooled = second.pooled(previous: first.scores)
        #expect(pooled.disputes.contains { $0.hasPrefix("silo-09's validation AUC moved by 0.45 since its previous round") }, "\(pooled.disputes)")
        #expect(second.pooled().disputes.isEmpty, "without its history the claim is within the floor")
    }

    @Test func twoSilosAreAveragedNotJudged() throws {
        var evaluations = RoundEvaluations()
        evaluations.add(client: "a", declaredExamples: 1_000, report: Self.report(auc: 0.7))
        evaluations.add(client: "b", declaredExamples: 1_000, report: Self.report(auc: 1))
        let pooled = evaluations.pooled()
        #expect(pooled.disputes.isEmpty)
        #expect(abs((pooled.validationAUC ?? 0) - 0.85) < 1e-9)
        #expect(RoundEvaluations.trimmed(2) == 0 && RoundEvaluations.trimmed(3) == 1 && RoundEvaluations.trimmed(25) == 2)
    }
}
