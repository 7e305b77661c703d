import FedAttnCore
import FedAttnFederation
import FedAttnModel
import FedAttnProtocol
import FedAttnSecAgg
import FedAttnTransport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing
import _FedAttnTestSupport

/// A seeded mutation fuzzer for the protobuf-to-domain mapping (`make fuzz-asan` runs it
/// longer, under AddressSanitizer): evaluation reports, tasks (training plans, DP-SGD, secure
/// plans and every secure phase), Join answers, and secure replies with their masked bytes.
/// Each message's bytes are mutated; what protobuf reads is mapped by `Wire` and `SecureWire`
/// as the service and the client link do, and is taken or refused with their typed error
/// (`RPCError`, `SecureWire.Malformed`), never a trap.
struct WireFuzzTests {
    /// Varints at the edges, alone and behind the tags of the fields a peer sizes things with
    /// (masked_count 12, masked_bits 13, row_count 9), and length prefixes past the end.
    static let binaryTokens: [[UInt8]] = [
        [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
        [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0x80, 0x80, 0x80, 0x80, 0x08], [0x60, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
        [0x60, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [0x68, 0x20], [0x68, 0x00], [0x68, 0x21],
        [0x48, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0x48, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
        [0x0A, 0x7F], [0x2A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07],
    ]

    /// Mutates each of `seeds`' bytes in turn, `iterations` times; what protobuf reads is
    /// handed to `read`, which says whether the mapping took it (protobuf's own refusal counts
    /// as a refusal).
    static func run<M: SwiftProtobuf.Message>(_ seeds: [M], seed: UInt64, iterations: Int, _ read: (M) -> Bool) throws -> (taken: Int, refused: Int) {
        let encoded: [[UInt8]] = try seeds.map { try $0.serializedBytes() }
        var mutator = FuzzMutator(seed: seed, binaryTokens: Self.binaryTokens)
        var (taken, refused) = (0, 0)
        for i in 0..<iterations {
            let bytes = mutator.mutate(encoded[i % encoded.count])
            guard let message = try? M(serializedBytes: bytes) else {
                refused += 1
                continue
            }
            if read(message) { taken += 1 } else { refused += 1 }
        }
        return (taken, refused)
    }

    @Test func mutatedEvaluationReportsAreReadOrRefused() throws {
        var positives = [UInt64](repeating: 0, count: EvaluationSummary.bins), negatives = positives
        positives[3000] = 10
        negatives[1000] = 30
        let summary = EvaluationSummary(examples: 40, logLossSum: 26.4, positives: positives, negatives: negatives)
        let reports = [
            EvaluationReport(
                test: summary, validation: summary,
                ranking: RankingSums(users: 5, hits: 2, ndcgSum: 1.2, catalogueUsers: 5, hitsAt20: 1, ndcgAt20Sum: 0.4),
                validationRanking: RankingSums(users: 3, hits: 1, ndcgSum: 0.5)),
            EvaluationReport(test: summary),
        ]
        let (taken, refused) = try Self.run(
            reports.map { Wire.report($0, round: 2, version: "v2") }, seed: 20_261_210, iterations: FuzzMutator.iterations(standard: 1_000, cost: 8)
        ) { message in
            do throws(RPCError) {
                let report = try Wire.report(message, from: "fuzz")
                return report.test.positives.count == EvaluationSummary.bins && report.validation.negatives.count == EvaluationSummary.bins
            } catch {
                return false
            }
        }
        #expect(taken > 0 && refused > 0)
        print("evaluation report fuzz: \(taken) read, \(refused) refused, no crash")
    }

    @Test func mutatedTasksAreReadOrRefused() throws {
        var plan = LocalTrainingPlan(epochs: 2, batchSize: 64, learningRate: 0.005, seed: 7, proximalMu: 0.01)
        plan.negatives = NegativeSampling(count: 4, exponent: 0.5)
        var privatePlan = plan
        privatePlan.privacy = DPSGDConfig(clipNorm: 1, noiseMultiplier: 1.1, rowLearningRate: 0.05)
        var securePlan = plan
        securePlan.secure = SecurePlan(
            id: 1, attempt: 2, session: 42, clients: 5, neighbours: [0, 2, 3, 4], threshold: 3, weight: 0.2, clip: 1, bits: 20)
        var keys = SecureTask(round: 3, attempt: 2, phase: .shareKeys)
        keys.peerKeys = [[AdvertisedKeys(client: 0, encryptionKey: Data(repeating: 1, count: 32), maskingKey: Data(repeating: 2, count: 32))], []]
        var masking = SecureTask(round: 3, attempt: 2, phase: .maskIndicators)
        masking.shares = [[EncryptedShare(from: 0, to: 1, ciphertext: Data(repeating: 3, count: 108))], []]
        var rows = RowSet(rows: 100)
        rows.insert(contentsOf: [Int32(1), 5, 99])
        masking.rows = rows
        var unmasking = SecureTask(round: 3, attempt: 2, phase: .unmaskValues)
        unmasking.survivors = [0, 1, 2]
        let tasks: [FederationTask] = [
            .train(round: 3, modelVersion: "v3", plan: plan), .train(round: 3, modelVersion: "v3", plan: privatePlan),
            .train(round: 3, modelVersion: "v3", plan: securePlan), .secure(keys), .secure(masking), .secure(unmasking),
            .evaluate(round: 3, modelVersion: "v4"), .wait(retryAfter: .milliseconds(250)), .done(keptVersion: "v2"),
        ]
        let (taken, refused) = try Self.run(
            tasks.map { Wire.task($0) }, seed: 20_261_211, iterations: FuzzMutator.iterations(standard: 2_000, cost: 4)
        ) { message in
            do throws(RPCError) {
                // What the client reads goes back on the wire as the coordinator would write it.
                _ = Wire.task(try Wire.task(message))
                return true
            } catch {
                return false
            }
        }
        #expect(taken > 0 && refused > 0)
        print("task fuzz: \(taken) read, \(refused) refused, no crash")
    }

    @Test func mutatedJoinAnswersAreReadOrRefused() throws {
        let limits = CoordinatorLimits(
            maxUpdateBytes: 1 << 20, maxUpdateNorm: 100, uploadTimeout: .seconds(60), pieceBytes: 127 << 10, updateChunkBytes: 8 << 10,
            longPoll: .seconds(20), maxTrainExamples: 1_000_000, roundTimeout: .seconds(600), uploadSlots: 8, maxPayloadBytes: 264_529,
            maxZstdWindowLog: 23, securePhaseTimeout: .seconds(60), maxMessageBytes: 4 << 20)
        let answers = [
            Wire.joinResponse(client: "shop", rounds: 20, model: ModelConfig(items: .hashed(buckets: 4_096), strategies: 3), limits: limits),
            Wire.joinResponse(client: "silo-2", rounds: 1, model: ModelConfig(), limits: limits),
        ]
        let (taken, refused) = try Self.run(answers, seed: 20_261_212, iterations: FuzzMutator.iterations(standard: 1_000, cost: 4)) { message in
            do throws(RPCError) {
                let info = try Wire.joinInfo(message)
                return info.model.dim > 0
            } catch {
                return false
            }
        }
        #expect(taken > 0 && refused > 0)
        print("join answer fuzz: \(taken) read, \(refused) refused, no crash")
    }

    /// What a client sends in a secure step: its reply, and the masked vector's bytes after it,
    /// either or both mutated.
    @Test func mutatedSecureRepliesAreReadOrRefused() throws {
        var advertise = SecureReply(round: 3, attempt: 1, phase: .advertise)
        advertise.baseVersion = "v2"
        advertise.examples = 100
        advertise.trainSeconds = 1.5
        let key = AdvertisedKeys(client: 1, encryptionKey: Data(repeating: 5, count: 32), maskingKey: Data(repeating: 6, count: 32))
        advertise.keys = [key, key]
        var share = SecureReply(round: 3, attempt: 1, phase: .shareKeys)
        share.shares = [[EncryptedShare(from: 1, to: 0, ciphertext: Data(repeating: 4, count: 108))], []]
        var indicators = SecureReply(round: 3, attempt: 1, phase: .maskIndicators)
        indicators.masked = (0..<40).map { UInt32($0 * 1_601 % 65_536) }
        indicators.maskedBits = 16
        var values = SecureReply(round: 3, attempt: 1, phase: .maskValues)
        values.masked = (0..<50).map { UInt32($0 * 1_000_003 % (1 << 28)) }
        values.maskedBits = 28
        var unmask = SecureReply(round: 3, attempt: 1, phase: .unmaskIndicators)
        unmask.unmasking = UnmaskingShares(
            client: 1, selfMaskShares: [0: ShamirSharing.Share(x: 2, values: [1, 2, 3, 4, 5])],
            maskingKeyShares: [2: ShamirSharing.Share(x: 2, values: [6, 7, 8, 9, 10])])
        var abort = SecureReply(round: 3, attempt: 1, phase: .maskValues)
        abort.abort = "the silo ran out of memory"
        let seeds = try [advertise, share, indicators, values, unmask, abort].map { reply -> (header: [UInt8], masked: [UInt8]) in
            let masked = reply.masked.isEmpty ? Data() : RingPacking.pack(reply.masked, bits: reply.maskedBits)
            let header: [UInt8] = try SecureWire.reply(reply).serializedBytes()
            return (header: header, masked: [UInt8](masked))
        }
        var mutator = FuzzMutator(seed: 20_261_213, binaryTokens: Self.binaryTokens)
        let iterations = FuzzMutator.iterations(standard: 2_000, cost: 4)
        var (taken, refused) = (0, 0)
        for i in 0..<iterations {
            let seed = seeds[i % seeds.count]
            let which = mutator.below(3)
            let header = which == 1 ? seed.header : mutator.mutate(seed.header)
            let masked = which == 0 ? seed.masked : mutator.mutate(seed.masked)
            guard let message = try? Fedattn_V1_SecureReply(serializedBytes: header) else {
                refused += 1
                continue
            }
            do throws(SecureWire.Malformed) {
                let reply = try SecureWire.reply(message, masked: Data(masked))
                #expect(reply.approximateBytes >= 0 && reply.masked.allSatisfy { reply.maskedBits == 32 || $0 >> UInt32(reply.maskedBits) == 0 })
                taken += 1
            } catch {
                refused += 1
            }
        }
        #expect(taken + refused == iterations && taken > 0 && refused > 0)
        print("secure reply fuzz: \(iterations) mutated steps, \(taken) read, \(refused) refused, no crash")
    }
}
