import FedAttnCodec
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

/// What anyone who reaches the port may send. Each is refused with a reason; the
/// federation carries on and a good update is still counted afterwards.
struct HostileInputTests {
    static let config = Fixtures.tinyConfig
    static var layout: ParameterLayout { AttentionModel.layout(for: config) }

    /// A coordinator with clients a and b joined, round 1 open, and a's training task.
    static func openRound(
        _ settings: CoordinatorConfig = CoordinatorConfig(rounds: 2, minClients: 2, maxUpdateBytes: 1 << 20), clock: any RoundClock = ManualClock()
    ) async throws -> (Coordinator, version: String) {
        let coordinator = try Coordinator(modelConfig: config, config: settings, initialModel: try Fixtures.tinyModel(), clock: clock)
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        try await coordinator.join(client: "b", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        guard case .train(1, let version, _) = try await coordinator.nextTask(client: "a") else { throw CoordinatorError.notJoined("a") }
        return (coordinator, version)
    }

    /// An update with `values(i)` at flat index i, but for the item table's padding row 0,
    /// which an honest update leaves at zero (unless `padding` says otherwise).
    static func payload(
        _ values: (Int) -> Float = { _ in 0.01 }, layout: ParameterLayout = layout, padding: Float = 0,
        sparse: Set<String> = [AttentionModel.TensorName.items]
    ) throws -> Data {
        var delta = Weights(zerosLike: layout)
        for i in delta.values.indices { delta.values[i] = values(i) }
        if let items = layout.index(of: AttentionModel.TensorName.items) {
            let start = layout.range(at: items).lowerBound
            for i in start..<(start + layout.tensors[items].shape[1]) { delta.values[i] = padding }
        }
        return try TensorPayload.encode(SparseWeights(delta, sparseTensors: sparse), precision: .float16)
    }

    func refusal(
        _ coordinator: Coordinator, round: Int = 1, base: String, payload: Data, client: String = "a", examples: Int = 100
    ) async -> CoordinatorError? {
        do {
            try await coordinator.submitUpdate(client: client, round: round, baseVersion: base, examples: examples, trainSeconds: 0, payload: payload)
            return nil
        } catch { return error }
    }

    @Test func updatesForAnotherRoundOrVersionAreStale() async throws {
        let (coordinator, version) = try await Self.openRound()
        let good = try Self.payload()
        guard let past = await refusal(coordinator, round: 0, base: version, payload: good)?.message(if: .stale) else {
            Issue.record("round 0 accepted"); return
        }
        #expect(past.contains("round 0"))
        guard await refusal(coordinator, round: 2, base: version, payload: good)?.kind == .stale else { Issue.record("round 2 accepted"); return }
        guard let base = await refusal(coordinator, base: String(repeating: "0", count: 64), payload: good)?.message(if: .stale) else {
            Issue.record("another base accepted"); return
        }
        #expect(base.contains("trained from version 000000000000"))
        #expect(await refusal(coordinator, base: version, payload: good) == nil)  // the federation carries on
    }

    @Test func tensorsOfAnotherShapeOrNameAreRefusedByName() async throws {
        let (coordinator, version) = try await Self.openRound()
        var bigger = Self.config
        bigger.hidden = 16
        let shapes = try Self.payload(layout: AttentionModel.layout(for: bigger))
        guard let why = await refusal(coordinator, base: version, payload: shapes)?.message(if: .invalidUpdate) else {
            Issue.record("shape accepted"); return
        }
        #expect(why.contains("hidden.weight"))
        let strangers = ParameterLayout([TensorSpec(name: "backdoor", shape: [4])])
        guard let names = await refusal(coordinator, base: version, payload: try Self.payload(layout: strangers))?.message(if: .invalidUpdate) else {
            Issue.record("unknown tensors accepted"); return
        }
        #expect(names.contains("1 tensors, expected 10"))
    }

    @Test func nonFiniteAndAbsurdlyLargeUpdatesAreRefused() async throws {
        let (coordinator, version) = try await Self.openRound()
        guard let nan = await refusal(coordinator, base: version, payload: try Self.payload { $0 == 40 ? .nan : 0.01 })?.message(if: .invalidUpdate)
        else {
            Issue.record("NaN accepted"); return
        }
        #expect(nan.contains("NaN or infinite"))
        guard let huge = await refusal(coordinator, base: version, payload: try Self.payload { _ in 5_000 })?.message(if: .invalidUpdate) else {
            Issue.record("huge norm accepted"); return
        }
        #expect(huge.contains("over the bound of 1e+03"))
    }

    @Test func oversizedPayloadsAndBombsAreRefused() async throws {
        let (coordinator, version) = try await Self.openRound()
        let tooBig = Data(repeating: 7, count: (1 << 20) + 1)
        guard await refusal(coordinator, base: version, payload: tooBig)?.kind == .tooLarge else { Issue.record("oversized accepted"); return }
        // 64 MiB of zeros in a few KB: refused before it is decompressed.
        let bomb = try ZstdFrame.compress(Data(count: 64 << 20))
        guard await refusal(coordinator, base: version, payload: bomb)?.kind == .tooLarge else { Issue.record("bomb accepted"); return }
        var garbage = SeededGenerator(seed: 3)
        let random = Data((0..<5_000).map { _ in UInt8(truncatingIfNeeded: garbage.next()) })
        guard await refusal(coordinator, base: version, payload: random)?.kind == .invalidUpdate else {
            Issue.record("random bytes accepted"); return
        }
        #expect(await refusal(coordinator, base: version, payload: try Self.payload()) == nil)
    }

    /// The window a frame asks for is bounded on its own, at what `Limits` says (2^23), not by
    /// the payload's size: zstd's streaming default (2^21 at level 3, no content size) is
    /// taken for the tiny model, whose payloads are a few KB.
    @Test func anUpdateOfAnyZstdWindowUpToTheLimitIsTakenAndAWiderOneRefusedByItsWindow() async throws {
        let (coordinator, version) = try await Self.openRound()
        #expect(coordinator.limits().maxZstdWindowLog == ZstdFrame.maxWindowLog)
        #expect(coordinator.limits().maxPayloadBytes == TensorPayload.maximumSize(of: Self.layout))
        let raw = try ZstdFrame.decompress(try Self.payload(), maxOutput: 1 << 20)
        let wide = try ZstdFrame.compressStreaming([raw], windowLog: Int32(ZstdFrame.maxWindowLog + 1))
        guard let refused = await refusal(coordinator, base: version, payload: wide)?.message(if: .tooLarge) else {
            Issue.record("a window of 2^24 accepted"); return
        }
        #expect(refused.contains("update from 'a'") && refused.contains("window of 16777216 bytes"), "\(refused)")
        let streamed = try ZstdFrame.compressStreaming([raw])
        #expect(ZstdFrame.windowSize(of: streamed) == 1 << 21)
        #expect(await refusal(coordinator, base: version, payload: streamed) == nil)
    }

    @Test func theSameUpdateTwiceCountsOnce() async throws {
        let (coordinator, version) = try await Self.openRound(
            CoordinatorConfig(rounds: 1, minClients: 2, quorum: 1, roundTimeout: .seconds(120)))
        let good = try Self.payload()
        #expect(await refusal(coordinator, base: version, payload: good) == nil)
        guard let why = await refusal(coordinator, base: version, payload: good)?.message(if: .stale) else {
            Issue.record("duplicate accepted"); return
        }
        #expect(why.contains("already sent"))
        // b leaves without an update: the round closes on the quorum of one, counting a once.
        await coordinator.leave(client: "b")
        while true {
            let task = try await coordinator.nextTask(client: "a", longPoll: .seconds(600))
            if case .wait = task { continue }
            guard case .evaluate(let round, let v, _) = task else { Issue.record("\(task) instead of an evaluation"); return }
            try await coordinator.submitEvaluation(client: "a", round: round, version: v, report: EvaluationReport())
            break
        }
        _ = await coordinator.history(beyond: 0)
        let record = try #require(await coordinator.history.first)
        #expect(record.participants == ["a"])
        #expect(record.examples == 100)
    }

    @Test func aRoundWithoutQuorumIsRetriedNotPublished() async throws {
        let clock = ManualClock()
        let (coordinator, _) = try await Self.openRound(
            CoordinatorConfig(rounds: 1, minClients: 2, quorum: 2, roundTimeout: .seconds(100)), clock: clock)
        // Nobody uploads: the round reaches its deadline short of its quorum and starts again.
        clock.advance(by: .seconds(100))
        await coordinator.waitUntil { !$0.retriesOfCurrentRound.isEmpty }
        guard case .train(1, _, _) = try await coordinator.nextTask(client: "b", longPoll: .zero) else { Issue.record("no retry"); return }
        #expect(await coordinator.history.isEmpty)
        let retries = await coordinator.retriesOfCurrentRound
        #expect(retries.first?.contains("quorum") == true, "\(retries)")
    }

    @Test func strangersAndOtherProtocolVersionsAreRefused() async throws {
        let (coordinator, version) = try await Self.openRound()
        guard await refusal(coordinator, base: version, payload: try Self.payload(), client: "mallory")?.kind == .notJoined else {
            Issue.record("an unselected client's update was accepted"); return
        }
        await #expect(throws: CoordinatorError.notJoined("mallory")) { try await coordinator.nextTask(client: "mallory") }
        await #expect(throws: CoordinatorError.protocolMismatch("c", speaks: 1, coordinator: Coordinator.protocolVersions)) {
            try await coordinator.join(client: "c", protocolVersion: 1, trainExamples: 1_000)
        }
    }
}

/// A seeded random-mutation fuzzer for the update decoder: flips, inserts, deletes and
/// truncates bytes of valid payloads, both of the zstd frame and of the raw tensor format
/// beneath it. Every input decodes or is refused with a `CodecError` (the decoder's typed
/// throws: nothing else can escape), never crashes, never allocates past the limit; whatever
/// decodes has the expected layout and survives re-encoding bit for bit. `make fuzz-asan`
/// runs it for longer under AddressSanitizer.
struct DecoderFuzzTests {
    /// Float32 values as bits, so that -0 and NaN payloads compare exactly.
    static func bits(_ weights: SparseWeights) -> [[UInt32]] { weights.tensors.map { $0.values.map(\.bitPattern) } }

    @Test func validPayloadsRoundTripBitForBit() throws {
        var rng = SeededGenerator(seed: 7)
        let layout = HostileInputTests.layout
        for trial in 0..<40 {
            var dense = Weights(zerosLike: layout)
            let keep = Double(trial % 5) / 4  // 0%, 25%, ... 100% of the item rows changed
            for i in dense.values.indices where Double(rng.next() % 1_000) / 1_000 < keep || i >= 64 {
                dense.values[i] = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0xBF7F_FFFF)  // finite, any sign and exponent
            }
            let sparse = SparseWeights(dense, sparseTensors: [AttentionModel.TensorName.items])
            for precision in [TensorPayload.Precision.float32, .float16] {
                let payload = try TensorPayload.encode(sparse, precision: precision)
                let decoded = try TensorPayload.decode(payload, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout))
                #expect(decoded.tensors.map(\.rows) == sparse.tensors.map(\.rows))
                let expected = precision == .float32 ? Self.bits(sparse) : sparse.tensors.map { $0.values.map { Float(Float16($0)).bitPattern } }
                #expect(Self.bits(decoded) == expected, "trial \(trial), \(precision)")
            }
        }
    }

    @Test func mutatedPayloadsDecodeOrAreRefused() throws {
        let layout = HostileInputTests.layout
        let valid = try HostileInputTests.payload { Float($0 % 13) * 0.001 }
        let raw = try ZstdFrame.decompress(valid, maxOutput: 1 << 20)
        var rng = SeededGenerator(seed: 20_261_129)
        // FEDATTN_FUZZ_ITERATIONS runs it longer; the suite's own run stays under a second.
        let iterations = Int(ProcessInfo.processInfo.environment["FEDATTN_FUZZ_ITERATIONS"] ?? "") ?? 30_000
        var decoded = 0
        var refusals: [String: Int] = [:]
        for i in 0..<iterations {
            var bytes = [UInt8](i % 2 == 0 ? valid : raw)
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 4 {
                case 0: if !bytes.isEmpty { bytes[at] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8)) }
                case 1: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                case 2: if !bytes.isEmpty { bytes.remove(at: at) }
                default: bytes.removeLast(min(bytes.count, Int(rng.next() % 16)))
                }
            }
            let input = i % 2 == 0 ? Data(bytes) : try ZstdFrame.compress(Data(bytes), level: 1)
            do throws(CodecError) {
                let result = try TensorPayload.decode(input, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout))
                #expect(result.layout == layout)
                // What decodes is a payload like any other: it encodes and decodes to the same bits.
                let again = try TensorPayload.decode(
                    try TensorPayload.encode(result, precision: .float32), expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout))
                #expect(Self.bits(again) == Self.bits(result) && again.tensors.map(\.rows) == result.tensors.map(\.rows))
                decoded += 1
            } catch {
                refusals[Self.kind(error), default: 0] += 1
            }
        }
        let refused = refusals.values.reduce(0, +)
        #expect(decoded + refused == iterations)
        // Mutating a zstd frame mostly breaks the frame; mutating the tensor format beneath it
        // mostly breaks the format: both kinds of refusal must have been met.
        #expect(refusals["malformed", default: 0] > iterations / 10 && refused - refusals["malformed", default: 0] > iterations / 10)
        print(
            "decoder fuzz: \(iterations) mutated inputs tried, \(decoded) decoded and re-encoded bit for bit, \(refused) refused \(refusals.sorted { $0.key < $1.key }), no crash"
        )
    }

    static func kind(_ error: CodecError) -> String {
        switch error {
        case .notZstd: "notZstd"
        case .truncated: "truncated"
        case .tooLarge, .windowTooLarge: "tooLarge"
        case .zstd: "zstd"
        case .malformed, .otherLayout: "malformed"  // both refuse the content past the frame
        }
    }
}
