import FedAttnCore
package import FedAttnFederation
package import FedAttnModel
package import FedAttnProtocol
import FedAttnSecAgg
import Foundation
package import GRPCCore
import SwiftProtobuf

/// The protocol's messages (protocol/fedattn.proto) to and from the coordinator's own types,
/// in one place per direction: what the coordinator sends is built here, and what it receives
/// is read here, with the bounds checks a peer could otherwise break (an `EvaluationSummary`
/// of the wrong bin count would stop the process). Secure aggregation's messages are
/// `SecureWire`'s. A message that cannot be read is an `RPCError` the caller returns as is.
package enum Wire {
    /// A duration in whole milliseconds, as the protocol carries it.
    package static func milliseconds(_ duration: Duration) -> UInt32 {
        UInt32(clamping: duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    // MARK: Join

    /// The answer to a Join of `protocolVersion` (echoed; a client of 9 is told nothing of the
    /// most-popular baseline). `popularity` is what that client is told
    /// (`Coordinator.popularityPolicy(protocolVersion:)`).
    package static func joinResponse(
        client: String, rounds: Int, model: ModelConfig, limits: CoordinatorLimits, protocolVersion: UInt32 = Coordinator.protocolVersion,
        popularity: PopularityPolicy = .unspecified
    ) -> Fedattn_V1_JoinResponse {
        .with {
            $0.protocolVersion = protocolVersion
            if protocolVersion >= Coordinator.popularityProtocol { $0.popularity = pooling(popularity) }
            $0.clientID = client
            $0.rounds = UInt32(rounds)
            $0.model = .with {
                $0.dim = UInt32(model.dim)
                $0.historyLength = UInt32(model.historyLength)
                $0.hidden = UInt32(model.hidden)
                $0.items = model.items.description
                $0.strategies = UInt32(model.strategies)
            }
            $0.limits = .with {
                $0.maxUpdateBytes = UInt64(limits.maxUpdateBytes)
                $0.maxUpdateNorm = limits.maxUpdateNorm
                $0.uploadTimeoutMs = milliseconds(limits.uploadTimeout)
                $0.pieceBytes = UInt32(limits.pieceBytes)
                $0.updateChunkBytes = UInt32(limits.updateChunkBytes)
                $0.longPollMs = milliseconds(limits.longPoll)
                $0.maxTrainExamples = UInt64(limits.maxTrainExamples)
                $0.roundTimeoutMs = milliseconds(limits.roundTimeout)
                $0.uploadSlots = UInt32(limits.uploadSlots)
                $0.maxPayloadBytes = UInt64(clamping: limits.maxPayloadBytes)
                $0.maxZstdWindowLog = UInt32(clamping: limits.maxZstdWindowLog)
                $0.securePhaseTimeoutMs = limits.securePhaseTimeout.map { milliseconds($0) } ?? 0
                $0.maxMessageBytes = UInt32(clamping: limits.maxMessageBytes)
                if protocolVersion >= Coordinator.popularityProtocol { $0.maxPopularityItems = UInt32(clamping: limits.maxPopularityItems) }
            }
        }
    }

    static func pooling(_ policy: PopularityPolicy) -> Fedattn_V1_PopularityPooling {
        switch policy {
        case .on: .on
        case .secureSum: .secureSum
        case .offSecureAggregation: .offSecureAggregation
        case .offDifferentialPrivacy: .offDifferentialPrivacy
        case .unspecified: .unspecified
        }
    }

    static func policy(_ pooling: Fedattn_V1_PopularityPooling) -> PopularityPolicy {
        switch pooling {
        case .on: .on
        case .secureSum: .secureSum
        case .offSecureAggregation: .offSecureAggregation
        case .offDifferentialPrivacy: .offDifferentialPrivacy
        case .unspecified, .UNRECOGNIZED: .unspecified
        }
    }

    /// - Throws: `RPCError` (internal error) for an item mapping this build does not know, or
    ///   a model configuration outside `ModelConfig.validate`'s bounds.
    package static func joinInfo(_ response: Fedattn_V1_JoinResponse) throws(RPCError) -> JoinInfo {
        guard let items = ItemMapping(response.model.items) else {
            throw RPCError(code: .internalError, message: "the coordinator sent item mapping '\(response.model.items)'")
        }
        let model = ModelConfig(
            dim: Int(response.model.dim), historyLength: Int(response.model.historyLength), hidden: Int(response.model.hidden),
            items: items, strategies: Int(response.model.strategies))
        // Bounded like a model file's metadata: an answer cannot size the client's buffers.
        do { try model.validate() } catch {
            throw RPCError(code: .internalError, message: "the coordinator sent a model this client cannot run: \(error)")
        }
        let l = response.limits
        let limits = CoordinatorLimits(
            maxUpdateBytes: Int(clamping: l.maxUpdateBytes), maxUpdateNorm: l.maxUpdateNorm, uploadTimeout: .milliseconds(Int(l.uploadTimeoutMs)),
            pieceBytes: Int(l.pieceBytes), updateChunkBytes: Int(l.updateChunkBytes), longPoll: .milliseconds(Int(l.longPollMs)),
            maxTrainExamples: Int(clamping: l.maxTrainExamples), roundTimeout: .milliseconds(Int(l.roundTimeoutMs)), uploadSlots: Int(l.uploadSlots),
            maxPayloadBytes: Int(clamping: l.maxPayloadBytes), maxZstdWindowLog: Int(l.maxZstdWindowLog),
            securePhaseTimeout: l.securePhaseTimeoutMs == 0 ? nil : .milliseconds(Int(l.securePhaseTimeoutMs)),
            maxMessageBytes: Int(l.maxMessageBytes), maxPopularityItems: Int(l.maxPopularityItems))
        return JoinInfo(
            clientID: response.clientID, model: model, rounds: Int(response.rounds), limits: limits, popularity: policy(response.popularity))
    }

    // MARK: Tasks

    package static func task(_ task: FederationTask) -> Fedattn_V1_Task {
        .with { message in
            switch task {
            case .train(let round, let version, let plan):
                message.kind = .train
                message.round = UInt32(round)
                message.modelVersion = version
                message.plan = .with {
                    $0.epochs = UInt32(plan.epochs)
                    $0.batchSize = UInt32(plan.batchSize)
                    $0.learningRate = plan.learningRate
                    $0.seed = plan.seed
                    $0.proximalMu = plan.proximalMu
                    $0.negatives = UInt32(plan.negatives.count)
                    $0.negativeExponent = Float(plan.negatives.exponent)
                    if let privacy = plan.privacy {
                        $0.dpClipNorm = privacy.clipNorm
                        $0.dpNoiseMultiplier = privacy.noiseMultiplier
                        $0.dpRowLearningRate = privacy.rowLearningRate
                    }
                    if let secure = plan.secure { $0.secure = SecureWire.plan(secure) }
                }
            case .secure(let task):
                message.kind = .secure
                message.round = UInt32(task.round)
                message.secure = SecureWire.task(task)
            case .evaluate(let round, let version, let pooled):
                message.kind = .evaluate
                message.round = UInt32(round)
                message.modelVersion = version
                if let pooled { message.popularity = counts(pooled) }
            case .wait(let after):
                message.kind = .wait
                message.retryAfterMs = milliseconds(after)
            case .done(let kept):
                message.kind = .done
                if let kept { message.modelVersion = kept }
            }
        }
    }

    /// - Throws: `RPCError` (internal error) for a plan no client could follow.
    package static func task(_ task: Fedattn_V1_Task) throws(RPCError) -> FederationTask {
        switch task.kind {
        case .train:
            let p = task.plan
            // Any DP field set asks for DP-SGD: a malformed one is a bad plan, never "no DP".
            let asksForDP = p.dpClipNorm != 0 || p.dpNoiseMultiplier != 0 || p.dpRowLearningRate != 0
            let privacy =
                asksForDP ? DPSGDConfig(clipNorm: p.dpClipNorm, noiseMultiplier: p.dpNoiseMultiplier, rowLearningRate: p.dpRowLearningRate) : nil
            var plan = LocalTrainingPlan(
                epochs: Int(p.epochs), batchSize: Int(p.batchSize), learningRate: p.learningRate, seed: p.seed, proximalMu: p.proximalMu,
                privacy: privacy, negatives: NegativeSampling(count: Int(p.negatives), exponent: Double(p.negativeExponent)))
            if p.hasSecure { plan.secure = SecureWire.plan(p.secure) }
            guard plan.epochs >= 1, plan.batchSize >= 1, plan.learningRate > 0 else {
                throw RPCError(code: .internalError, message: "the coordinator sent an unusable training plan")
            }
            if let problem = plan.negatives.problem {
                throw RPCError(code: .internalError, message: "the coordinator sent an unusable training plan: \(problem)")
            }
            if let privacy {
                do { try privacy.validate() } catch {
                    throw RPCError(code: .internalError, message: "the coordinator sent an unusable DP-SGD plan: \(error)")
                }
            }
            return .train(round: Int(task.round), modelVersion: task.modelVersion, plan: plan)
        case .evaluate:
            var pooled: PopularityCounts?
            if task.hasPopularity {
                let p = task.popularity
                guard p.items.count == p.counts.count, !p.decline else {
                    throw RPCError(code: .internalError, message: "the coordinator sent unusable pooled popularity counts")
                }
                pooled = PopularityCounts(items: p.items.map { Int32(clamping: $0) }, counts: p.counts.map { Int(clamping: $0) })
            }
            return .evaluate(round: Int(task.round), modelVersion: task.modelVersion, popularity: pooled)
        case .secure:
            do { return .secure(try SecureWire.task(task.secure)) } catch {
                throw RPCError(code: .internalError, message: "the coordinator sent an unusable secure task: \(error)")
            }
        case .wait: return .wait(retryAfter: .milliseconds(Int(task.retryAfterMs)))
        case .done: return .done(keptVersion: task.modelVersion.isEmpty ? nil : task.modelVersion)
        case .unspecified, .UNRECOGNIZED: return .wait(retryAfter: .milliseconds(100))
        }
    }

    // MARK: Popularity

    /// Counts as SharePopularity and Task.popularity carry them; nil is a decline.
    package static func counts(_ counts: PopularityCounts?) -> Fedattn_V1_PopularityCounts {
        .with {
            guard let counts else {
                $0.decline = true
                return
            }
            $0.items = counts.items.map { UInt32(clamping: $0) }
            $0.counts = counts.counts.map { UInt64(clamping: $0) }
        }
    }

    /// `client`'s share as the coordinator takes it: nil for a decline; what the counts may
    /// be is the coordinator's check (`PopularityPool`).
    /// - Throws: `RPCError` (invalid argument) for a decline that lists items, naming the client.
    package static func shared(_ message: Fedattn_V1_PopularityCounts, from client: String) throws(RPCError) -> PopularityCounts? {
        guard message.decline else {
            return PopularityCounts(items: message.items.map { Int32(clamping: $0) }, counts: message.counts.map { Int(clamping: $0) })
        }
        guard message.items.isEmpty, message.counts.isEmpty else {
            throw RPCError(
                code: .invalidArgument,
                message: "popularity counts from '\(client)': a decline lists \(message.items.count) items; a decline lists none")
        }
        return nil
    }

    // MARK: Evaluations

    package static func report(_ report: EvaluationReport, round: Int, version: String) -> Fedattn_V1_EvaluationReport {
        .with {
            $0.round = UInt32(round)
            $0.modelVersion = version
            $0.examples = UInt64(report.test.examples)
            $0.logLossSum = report.test.logLossSum
            $0.positiveHistogram = report.test.positives
            $0.negativeHistogram = report.test.negatives
            if report.validation.examples > 0 {
                $0.validationExamples = UInt64(report.validation.examples)
                $0.validationLogLossSum = report.validation.logLossSum
                $0.validationPositiveHistogram = report.validation.positives
                $0.validationNegativeHistogram = report.validation.negatives
            }
            $0.rankedUsers = UInt64(report.ranking.users)
            $0.hitsAt10 = UInt64(report.ranking.hits)
            $0.ndcgAt10Sum = report.ranking.ndcgSum
            $0.catalogueRankedUsers = UInt64(report.ranking.catalogueUsers)
            $0.hitsAt20 = UInt64(report.ranking.hitsAt20)
            $0.ndcgAt20Sum = report.ranking.ndcgAt20Sum
            $0.validationRankedUsers = UInt64(report.validationRanking.users)
            $0.validationHitsAt10 = UInt64(report.validationRanking.hits)
            $0.validationNdcgAt10Sum = report.validationRanking.ndcgSum
            if let p = report.popularity {
                $0.popularity = .with {
                    $0.rankedUsers = UInt64(p.users)
                    $0.hitsAt10 = UInt64(p.hits)
                    $0.ndcgAt10Sum = p.ndcgSum
                    $0.catalogueRankedUsers = UInt64(p.catalogueUsers)
                    $0.hitsAt20 = UInt64(p.hitsAt20)
                    $0.ndcgAt20Sum = p.ndcgAt20Sum
                }
            }
        }
    }

    /// Reads what the wire's shape decides (bin counts; validation histograms absent or
    /// whole) of `client`'s report; what the figures may be is the coordinator's check (`Admission`).
    /// - Throws: `RPCError` (invalid argument) naming the client and the field.
    package static func report(_ request: Fedattn_V1_EvaluationReport, from client: String) throws(RPCError) -> EvaluationReport {
        guard request.positiveHistogram.count == EvaluationSummary.bins, request.negativeHistogram.count == EvaluationSummary.bins else {
            throw RPCError(
                code: .invalidArgument,
                message:
                    "evaluation from '\(client)' has histograms of \(request.positiveHistogram.count) and \(request.negativeHistogram.count) bins; \(EvaluationSummary.bins) expected"
            )
        }
        let test = EvaluationSummary(
            examples: Int(clamping: request.examples), logLossSum: request.logLossSum, positives: request.positiveHistogram,
            negatives: request.negativeHistogram)
        // The validation split's: absent (empty histograms) from a client that carved none.
        var validation = EvaluationSummary()
        if !request.validationPositiveHistogram.isEmpty || !request.validationNegativeHistogram.isEmpty {
            guard request.validationPositiveHistogram.count == EvaluationSummary.bins,
                request.validationNegativeHistogram.count == EvaluationSummary.bins
            else {
                throw RPCError(
                    code: .invalidArgument,
                    message:
                        "evaluation from '\(client)' has validation histograms of \(request.validationPositiveHistogram.count) and \(request.validationNegativeHistogram.count) bins; \(EvaluationSummary.bins), or none, expected"
                )
            }
            validation = EvaluationSummary(
                examples: Int(clamping: request.validationExamples), logLossSum: request.validationLogLossSum,
                positives: request.validationPositiveHistogram, negatives: request.validationNegativeHistogram)
        } else if request.validationExamples != 0 || request.validationLogLossSum != 0 {
            throw RPCError(
                code: .invalidArgument,
                message:
                    "evaluation from '\(client)' has validation_examples \(request.validationExamples) and validation_log_loss_sum \(request.validationLogLossSum) "
                    + "without validation histograms: both are 0 when no validation split is reported")
        }
        let ranking = RankingSums(
            users: Int(clamping: request.rankedUsers), hits: Int(clamping: request.hitsAt10), ndcgSum: request.ndcgAt10Sum,
            catalogueUsers: Int(clamping: request.catalogueRankedUsers), hitsAt20: Int(clamping: request.hitsAt20),
            ndcgAt20Sum: request.ndcgAt20Sum)
        let validationRanking = RankingSums(
            users: Int(clamping: request.validationRankedUsers), hits: Int(clamping: request.validationHitsAt10),
            ndcgSum: request.validationNdcgAt10Sum)
        var report = EvaluationReport(test: test, validation: validation, ranking: ranking, validationRanking: validationRanking)
        if request.hasPopularity {
            let p = request.popularity
            report.popularity = RankingSums(
                users: Int(clamping: p.rankedUsers), hits: Int(clamping: p.hitsAt10), ndcgSum: p.ndcgAt10Sum,
                catalogueUsers: Int(clamping: p.catalogueRankedUsers), hitsAt20: Int(clamping: p.hitsAt20), ndcgAt20Sum: p.ndcgAt20Sum)
        }
        return report
    }
}
