import FedAttnCodec
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import Foundation

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

    /// `none`, `sign-flip`, `scale:K`, `noise` or `inflate-examples`; nil for anything else.
    public init?(_ text: String) {
        switch text {
        case "none": self = .none
        case "sign-flip": self = .signFlip
        case "noise": self = .noise
        case "inflate-examples": self = .inflateExamples
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
        }
    }
}

/// A silo that trains honestly, then attacks with what it sends.
struct HostileWork: LocalWork {
    let inner: SiloWork
    let attack: Attack
    let seed: UInt64

    var trainExamples: Int { attack == .inflateExamples ? inner.trainExamples * 100 : inner.trainExamples }
    var heldVersion: String? { inner.heldVersion }

    func train(from global: GlobalModel, plan: LocalTrainingPlan, round: Int, progress: @escaping @Sendable (Int, Int) -> Void) async throws
        -> LocalUpdate
    {
        let honest = try await inner.train(from: global, plan: plan, round: round, progress: progress)
        let layout = AttentionModel.layout(for: global.config)
        var delta = try TensorPayload.decode(honest.payload, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout))
        switch attack {
        case .signFlip: delta = Self.map(delta) { -$0 }
        case .scale(let factor): delta = Self.map(delta) { $0 * factor }
        case .none, .inflateExamples: break
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
            payload: try TensorPayload.encode(delta, precision: .float16),
            examples: attack == .inflateExamples ? honest.examples * 100 : honest.examples,
            trainSeconds: honest.trainSeconds, meanLoss: honest.meanLoss)
    }

    /// Reports nothing: the federation's figures are then pooled over the honest silos, whose
    /// users an attack is meant to harm (a hostile silo's own report could say anything).
    func evaluate(_ global: GlobalModel) async throws -> EvaluationReport { EvaluationReport() }

    static func map(_ weights: SparseWeights, _ transform: (Float) -> Float) -> SparseWeights {
        var out = weights
        for i in out.tensors.indices { out.tensors[i].values = out.tensors[i].values.map(transform) }
        return out
    }
}
