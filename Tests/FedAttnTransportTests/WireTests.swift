import FedAttnCore
import FedAttnFederation
import FedAttnModel
import FedAttnProtocol
import FedAttnTransport
import GRPCCore
import Testing

/// The protocol's messages read back as the values they were made from, in each direction,
/// and what a peer could break refused by name.
struct WireTests {
    @Test func everyTaskReadsBackAsItWasSent() throws {
        var plan = LocalTrainingPlan(epochs: 2, batchSize: 64, learningRate: 0.005, seed: 7, proximalMu: 0.01)
        plan.negatives = NegativeSampling(count: 4, exponent: 0.5)
        var private_ = plan
        private_.privacy = DPSGDConfig(clipNorm: 1, noiseMultiplier: 1.1, rowLearningRate: 0.05)
        let tasks: [FederationTask] = [
            .train(round: 3, modelVersion: "v3", plan: plan), .train(round: 4, modelVersion: "v4", plan: private_),
            .evaluate(round: 3, modelVersion: "v4"), .wait(retryAfter: .milliseconds(250)), .done(keptVersion: "v2"), .done(keptVersion: nil),
        ]
        for task in tasks { #expect(try Wire.task(Wire.task(task)) == task) }
    }

    @Test func anEvaluationReadsBackAsItWasSentAndABadBinCountIsRefused() throws {
        var positives = [UInt64](repeating: 0, count: EvaluationSummary.bins), negatives = positives
        positives[3000] = 10
        negatives[1000] = 30
        let summary = EvaluationSummary(examples: 40, logLossSum: 26.4, positives: positives, negatives: negatives)
        let report = EvaluationReport(
            test: summary, validation: summary,
            ranking: RankingSums(users: 5, hits: 2, ndcgSum: 1.2, catalogueUsers: 5, hitsAt20: 1, ndcgAt20Sum: 0.4),
            validationRanking: RankingSums(users: 3, hits: 1, ndcgSum: 0.5))
        #expect(try Wire.report(Wire.report(report, round: 2, version: "v2"), from: "shop") == report)
        // Without a validation split, none is sent and none is read.
        let testOnly = EvaluationReport(test: summary)
        #expect(try Wire.report(Wire.report(testOnly, round: 2, version: "v2"), from: "shop") == testOnly)
        var short = Wire.report(report, round: 2, version: "v2")
        short.positiveHistogram.removeLast()
        var lossAlone = Wire.report(testOnly, round: 2, version: "v2")
        lossAlone.validationLogLossSum = 3
        var halfValidation = Wire.report(report, round: 2, version: "v2")
        halfValidation.validationNegativeHistogram = []
        // Each refused as INVALID_ARGUMENT naming the client.
        for bad in [short, lossAlone, halfValidation] {
            let error = #expect(throws: RPCError.self) { try Wire.report(bad, from: "shop") }
            #expect(error?.code == .invalidArgument && error?.message.contains("evaluation from 'shop'") == true, "\(String(describing: error))")
        }
    }

    @Test func joinTellsTheModelAndLimitsAsTheCoordinatorHasThem() throws {
        let model = ModelConfig(items: .hashed(buckets: 4_096), strategies: 3)
        var limits = CoordinatorLimits(
            maxUpdateBytes: 1 << 20, maxUpdateNorm: 100, uploadTimeout: .seconds(60), pieceBytes: 127 << 10, updateChunkBytes: 8 << 10,
            longPoll: .seconds(20), maxTrainExamples: 1_000_000, roundTimeout: .seconds(600), uploadSlots: 8, maxPayloadBytes: 264_529,
            maxZstdWindowLog: 23, securePhaseTimeout: .seconds(60), maxMessageBytes: 4 << 20)
        let info = try Wire.joinInfo(Wire.joinResponse(client: "shop", rounds: 20, model: model, limits: limits))
        #expect(info.clientID == "shop" && info.rounds == 20 && info.model == model && info.limits == limits)
        // Without secure aggregation there is no phase timeout: 0 on the wire.
        limits.securePhaseTimeout = nil
        let plain = Wire.joinResponse(client: "shop", rounds: 20, model: model, limits: limits)
        #expect(plain.limits.securePhaseTimeoutMs == 0 && plain.limits.maxZstdWindowLog == 23 && plain.limits.maxPayloadBytes == 264_529)
        #expect(try Wire.joinInfo(plain).limits == limits)
    }
}
