import FedAttnCodec
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

/// What each client downloads of the versions a coordinator serves: the step from the version
/// before, a catch-up from an older one, or the whole model, each encoded once.
struct ServedVersionsTests {
    static let config = ModelConfig(items: .catalogue(items: 2_000), strategies: 3)

    /// A step that moves item rows `rows` (and nothing else).
    static func step(_ rows: [Int], layout: ParameterLayout) -> SparseWeights {
        var delta = Weights(zerosLike: layout)
        let items = layout.range(of: AttentionModel.TensorName.items)!, width = layout.tensors[0].shape[1]
        for row in rows { for j in 0..<width { delta.values[items.lowerBound + row * width + j] = 0.01 } }
        return SparseWeights(delta, sparseTensors: [AttentionModel.TensorName.items])
    }

    /// The file an answer gives, awaiting (and handing back) an encoding.
    static func file(_ answer: ServedVersions.Answer, _ served: inout ServedVersions, version: String) async throws -> (PayloadFile, String?) {
        switch answer {
        case .ready(let file, let from): return (file, from)
        case .encoding(let kind, let task, let from):
            let file = try await task.value
            served.finished(kind, of: version, file: file)
            return (file, from)
        }
    }

    @Test func eachClientGetsTheSmallestPayloadItsVersionAllowsEncodedOnce() async throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let weights = try AttentionModel(config: Self.config, seed: 0).parameters
        let layout = weights.layout
        var served = ServedVersions(version: "v0", folder: folder)

        // A newcomer gets the whole model, encoded on the first request and kept.
        let (whole, wholeFrom) = try await Self.file(
            try served.answer(version: "v0", base: nil, weights: weights, canEncode: true), &served, version: "v0")
        #expect(wholeFrom == nil)
        guard case .ready(let again, nil) = try served.answer(version: "v0", base: nil, weights: weights, canEncode: true) else {
            Issue.record("the whole model was encoded twice")
            return
        }
        #expect(again === whole)

        // v1 moves rows 1 and 2: a holder of v0 gets the step; v0's whole model is still
        // served to clients finishing its download.
        served.publish(
            try ServedVersions.publish(version: "v1", delta: ("v0", Self.step([1, 2], layout: layout)), layout: layout, in: folder),
            changedRows: [1, 2])
        guard case .ready(let step, "v0") = try served.answer(version: "v1", base: "v0", weights: weights, canEncode: true) else {
            Issue.record("no step for the version before")
            return
        }
        #expect(step.count * 20 < whole.count, "a step of \(step.count) bytes against \(whole.count)")
        guard case .ready(let old, nil) = try served.answer(version: "v0", base: nil, weights: weights, canEncode: true) else {
            Issue.record("the version before is no longer served")
            return
        }
        #expect(old === whole)

        // v2 moves row 3: v0 is gone; its holder catches up on rows 1 to 3 of v2.
        served.forgetPrevious()
        served.publish(
            try ServedVersions.publish(version: "v2", delta: ("v1", Self.step([3], layout: layout)), layout: layout, in: folder),
            changedRows: [3])
        #expect(throws: CoordinatorError.unknownVersion("v0")) {
            _ = try served.answer(version: "v0", base: nil, weights: weights, canEncode: true)
        }
        let (catchUp, from) = try await Self.file(
            try served.answer(version: "v2", base: "v0", weights: weights, canEncode: true), &served, version: "v2")
        #expect(from == "v0" && catchUp.count * 5 < whole.count, "a catch-up of \(catchUp.count) bytes against \(whole.count)")
        let rows = try TensorPayload.decode(catchUp.read(0..<catchUp.count), expecting: layout, maxBytes: .max).tensors[0].rows
        #expect(rows == [1, 2, 3])

        // Versions never seen here get the whole model (the one already made); with the
        // values moved on (a round staged), nothing not made already is encoded.
        for base in ["x1", "x2", "x3", "x4", "x5"] {
            let (_, from) = try await Self.file(
                try served.answer(version: "v2", base: base, weights: weights, canEncode: true), &served, version: "v2")
            #expect(from == nil)
        }
        var fresh = ServedVersions(version: "w0", folder: folder)
        #expect(throws: CoordinatorError.unknownVersion("w0")) {
            _ = try fresh.answer(version: "w0", base: nil, weights: weights, canEncode: false) as ServedVersions.Answer?
        }
    }
}
