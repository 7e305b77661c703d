import FedAttnCodec
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

/// A published model is served piece by piece from a file the coordinator does not keep in
/// memory, and which it leaves nowhere in its state folder.
struct ModelDownloadTests {
    @Test func piecesReassembleThePublishedModelAndNoPayloadFileIsLeftBehind() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fedattn-download-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // What a coordinator killed between creating a payload file and unlinking it leaves.
        FileManager.default.createFile(atPath: folder + "/.payload-AbC123", contents: Data([1, 2, 3]))
        let model = try Fixtures.tinyModel()
        let coordinator = try Coordinator(
            modelConfig: Fixtures.tinyConfig, config: CoordinatorConfig(rounds: 1, minClients: 1), initialModel: model,
            store: try StateStore(folder: folder))
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        guard case .train(1, let version, _) = try await coordinator.nextTask(client: "a") else {
            Issue.record("no training task")
            return
        }

        var payload = Data()
        var total = 1
        while payload.count < total {
            let piece = try await coordinator.modelPiece(version: version, offset: payload.count, maxBytes: 1_000, for: "a")
            #expect(piece.bytes.count <= 1_000)
            payload += piece.bytes
            total = piece.totalBytes
        }
        #expect(modelVersion(of: payload) == version)
        let layout = model.parameters.layout
        let decoded = try TensorPayload.decode(payload, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout))
        #expect(decoded.densified().values == model.parameters.values)

        await #expect(throws: CoordinatorError.self) {
            try await coordinator.modelPiece(version: version, offset: total + 1, maxBytes: 1_000, for: "a")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(names.filter { $0.hasPrefix(".payload-") }.isEmpty, "left in the state folder: \(names)")
    }
}
