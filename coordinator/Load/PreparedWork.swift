import FedAttnCodec
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import Foundation

/// A load generator's local work: the same prepared update and evaluation every round, with
/// no training and no decoding of the downloaded model, so that 200 clients on one machine
/// load the coordinator and not themselves.
struct PreparedWork: LocalWork {
    /// The encoded delta each round sends (protocol `TensorPayload`).
    let update: Data
    let summary: EvaluationSummary
    let trainExamples = 1_000

    init(update: Data) {
        self.update = update
        let positives = (0..<EvaluationSummary.bins).map { UInt64($0 % 3) }
        let negatives = (0..<EvaluationSummary.bins).map { UInt64($0 % 2) }
        summary = EvaluationSummary(
            examples: Int(positives.reduce(0, +) + negatives.reduce(0, +)), logLossSum: 650, positives: positives, negatives: negatives)
    }

    func train(from global: GlobalModel, plan: LocalTrainingPlan, round: Int, progress: @escaping @Sendable (Int, Int) -> Void) async throws
        -> LocalUpdate
    {
        LocalUpdate(payload: update, examples: trainExamples, trainSeconds: 0, meanLoss: 0)
    }

    func evaluate(_ global: GlobalModel) async throws -> EvaluationReport { EvaluationReport(test: summary) }

    /// A delta that changes a share `changedRows` of the item rows (drawn with a fixed seed)
    /// and every other tensor, encoded in float16 with the item table as rows.
    static func update(layout: ParameterLayout, changedRows: Double) throws -> Data {
        var delta = Weights(zerosLike: layout)
        var rng = SeededGenerator(seed: 42)
        let items = layout.range(of: AttentionModel.TensorName.items)!
        let width = layout.tensors[0].shape[1], rows = layout.tensors[0].shape[0]
        for row in 1..<rows where rng.nextUnit() < changedRows {
            for j in 0..<width { delta.values[items.lowerBound + row * width + j] = Float(rng.nextNormal() * 1e-3) }
        }
        for i in items.upperBound..<layout.count { delta.values[i] = Float(rng.nextNormal() * 1e-3) }
        return try TensorPayload.encode(SparseWeights(delta, sparseTensors: [AttentionModel.TensorName.items]), precision: .float16)
    }
}
