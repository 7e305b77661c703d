import FedAttnCodec
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import Foundation
import Synchronization

/// What a hostile silo does to its update, so that anyone can measure what an attack does
/// to each aggregation rule (`simulate --hostile N --attack NAME`).
public enum Attack: Sendable, Equatable, CustomStringConvertible {
    /// Sends its honest update (and, like every hostile silo, reports no evaluation): the
    /// clean run to compare an attack with, scored over the same silos.
    case none
    /// Sends the negated update (pushes the model back the way the silos pulled it).
    case signFlip
    /// Sends the update times `factor` (a model-replacement attempt, Bagdasaryan et al. 2020).
    case scale(Float)
    /// Sends Gaussian noise with the update's norm and rows in place of the update.
    case noise
    /// Declares 100 times its train examples at Join and on each update, to outweigh the
    /// others in a weighted mean (a declaration over the coordinator's --max-train-examples
    /// is refused at Join).
    case inflateExamples
    /// Trains honestly but forges its evaluation of round 1 to claim a perfect model (every
    /// positive above every negative, every ranked item first), with as many rows as the
    /// coordinator lets it claim: under pooled figures and a pooled choice, round 1 is kept.
    case forgeEvaluationHigh
    /// Trains honestly but forges its evaluations of every round after the first to claim a
    /// useless model (every positive below every negative, no hit), with as many rows as it
    /// may claim: again, under a pooled choice, round 1 is kept.
    case forgeEvaluationLow

    /// Whether the attack is on the evaluations (the silo then reports one, forged or not).
    public var forgesEvaluations: Bool { self == .forgeEvaluationHigh || self == .forgeEvaluationLow }

    /// `none`, `sign-flip`, `scale:K`, `noise`, `inflate-examples`, `forge-eval-high` or
    /// `forge-eval-low`; nil for anything else.
    public init?(_ text: String) {
        switch text {
        case "none": self = .none
        case "sign-flip": self = .signFlip
        case "noise": self = .noise
        case "inflate-examples": self = .inflateExamples
        case "forge-eval-high": self = .forgeEvaluationHigh
        case "forge-eval-low": self = .forgeEvaluationLow
        default:
            guard text.hasPrefix("scale:"), let factor = Float(text.dropFirst("scale:".count)), factor.isFinite else { return nil }
            self = .scale(factor)
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .signFlip: "sign-flip"
        case .scale(let factor): "scale:\(factor)"
        case .noise: "noise"
        case .inflateExamples: "inflate-examples"
        case .forgeEvaluationHigh: "forge-eval-high"
        case .forgeEvaluationLow: "forge-eval-low"
        }
    }
}

/// A silo that trains honestly, then attacks with what it sends.
struct HostileWork: LocalWork {
    let inner: SiloWork
    let attack: Attack
    let seed: UInt64
    /// The round last trained: the one whose model the next evaluation is of.
    let lastRound = LastRound()

    var trainExamples: Int { attack == .inflateExamples ? inner.trainExamples * 100 : inner.trainExamples }
    var heldVersion: String? { inner.heldVersion }

    func train(from global: GlobalModel, plan: LocalTrainingPlan, round: Int, progress: @escaping @Sendable (Int, Int) -> Void) async throws
        -> LocalUpdate
    {
        lastRound.value.withLock { $0 = round }
        let honest = try await inner.train(from: global, plan: plan, round: round, progress: progress)
        let layout = AttentionModel.layout(for: global.config)
        var delta = try honest.delta(model: global.config)
        switch attack {
        case .signFlip: delta = Self.map(delta) { -$0 }
        case .scale(let factor): delta = Self.map(delta) { $0 * factor }
        case .none, .inflateExamples, .forgeEvaluationHigh, .forgeEvaluationLow: break
        case .noise:
            let norm = delta.l2Norm
            var generator = SeededGenerator(seed: seed &+ UInt64(plan.seed))
            var noise = Self.map(delta) { _ in Float(generator.nextNormal()) }
            let scale = Float(norm / max(noise.l2Norm, 1e-12))
            noise = Self.map(noise) { $0 * scale }
            // Row 0 (padding) stays zero, as the coordinator requires.
            if noise.tensors[0].rows == nil { for j in 0..<layout.tensors[0].shape[1] { noise.tensors[0].values[j] = 0 } }
            if let rows = noise.tensors[0].rows, rows.first == 0 { for j in 0..<layout.tensors[0].shape[1] { noise.tensors[0].values[j] = 0 } }
            delta = noise
        }
        return LocalUpdate(
            delta: delta,
            examples: attack == .inflateExamples ? honest.examples * 100 : honest.examples,
            trainSeconds: honest.trainSeconds, meanLoss: honest.meanLoss)
    }

    /// Under an attack on updates, reports nothing: the federation's figures are then pooled
    /// over the honest silos, whose users the attack is meant to harm. Under a forging attack,
    /// its honest report in the rounds it leaves alone and a forged one in the others.
    func evaluate(_ global: GlobalModel) async throws -> EvaluationReport {
        guard attack.forgesEvaluations else { return EvaluationReport() }
        let honest = try await inner.evaluate(global)
        let round = lastRound.value.withLock { $0 }
        switch attack {
        case .forgeEvaluationHigh where round <= 1: return Self.forged(like: honest, rows: inner.trainExamples, perfect: true)
        case .forgeEvaluationLow where round > 1: return Self.forged(like: honest, rows: inner.trainExamples, perfect: false)
        default: return honest
        }
    }

    /// A report that passes every check of the coordinator's (`Admission`) yet says what the
    /// forger likes: `rows` test and validation rows (the most it may claim for validation is
    /// what it declared at Join) with the honest share of positives, all scored at one end of
    /// the logit range, and every ranked user hit first (`perfect`) or missed.
    static func forged(like honest: EvaluationReport, rows: Int, perfect: Bool) -> EvaluationReport {
        func summary(_ real: EvaluationSummary) -> EvaluationSummary {
            guard real.examples > 0 else { return real }
            let share = Double(real.positives.reduce(0, +)) / Double(real.examples)
            let positives = max(1, Int((Double(rows) * share).rounded())), negatives = max(1, rows - positives)
            var p = [UInt64](repeating: 0, count: EvaluationSummary.bins), n = p
            p[perfect ? p.count - 1 : 0] = UInt64(positives)
            n[perfect ? 0 : n.count - 1] = UInt64(negatives)
            // A logit of 16 on the right side costs about 1e-7 nats, on the wrong side 16.
            let perRow = perfect ? 1e-7 : Double(EvaluationSummary.logitRange)
            return EvaluationSummary(examples: positives + negatives, logLossSum: perRow * Double(positives + negatives), positives: p, negatives: n)
        }
        func ranking(_ real: RankingSums, positives: Int) -> RankingSums {
            let users = real.users > 0 ? positives : 0, catalogue = real.catalogueUsers > 0 ? positives : 0
            return perfect
                ? RankingSums(
                    users: users, hits: users, ndcgSum: Double(users), catalogueUsers: catalogue, hitsAt20: catalogue, ndcgAt20Sum: Double(catalogue))
                : RankingSums(users: users, hits: 0, ndcgSum: 0, catalogueUsers: catalogue, hitsAt20: 0, ndcgAt20Sum: 0)
        }
        let test = summary(honest.test), validation = summary(honest.validation)
        return EvaluationReport(
            test: test, validation: validation, ranking: ranking(honest.ranking, positives: Int(test.positives.reduce(0, +))),
            validationRanking: ranking(honest.validationRanking, positives: Int(validation.positives.reduce(0, +))))
    }

    static func map(_ weights: SparseWeights, _ transform: (Float) -> Float) -> SparseWeights {
        var out = weights
        for i in out.tensors.indices { out.tensors[i].values = out.tensors[i].values.map(transform) }
        return out
    }
}

/// The round a hostile silo last trained, shared by the copies of its work.
final class LastRound: Sendable {
    let value = Mutex(0)
}
