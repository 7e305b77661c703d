import FedAttnCore
import FedAttnModel
import FedAttnSafetensors
import Foundation
import Testing
import _FedAttnTestSupport

/// The interaction head (ESMM's P(interacted)) beside the click head.
struct InteractionHeadTests {
    @Test func aModelFileWrittenBeforeTheInteractionHeadLoadsWithAnUntrainedHead() throws {
        let model = try Fixtures.tinyModel()
        let layout = model.parameters.layout
        // The file as an older build wrote it: every tensor but the interaction head's.
        let older = ParameterLayout(layout.tensors.filter { !$0.name.hasPrefix("interaction.") })
        let values = older.tensors.flatMap { model.parameters.tensor($0.name)! }
        let path = (try Fixtures.temporaryFolder() as NSString).appendingPathComponent("old.safetensors")
        try Safetensors.encode(Weights(layout: older, values: values), metadata: model.config.metadata).write(to: URL(fileURLWithPath: path))
        let loaded = try ModelFile.load(from: path)
        #expect(loaded.parameters.tensor(AttentionModel.TensorName.interactionWeight)!.allSatisfy { $0 == 0 })
        #expect(loaded.parameters.tensor(AttentionModel.TensorName.outputWeight) == model.parameters.tensor(AttentionModel.TensorName.outputWeight))
        // With the head at zero, ranking orders items as the click head does.
        let data = Fixtures.tinyExamples()
        let clicks = loaded.logits(for: data), ranks = loaded.rankingScores(for: data)
        for i in 0..<data.count { for j in 0..<data.count where clicks[i] < clicks[j] { #expect(ranks[i] < ranks[j]) } }
    }
}
