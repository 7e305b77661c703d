import FedAttnCore
public import FedAttnFederation
public import FedAttnModel
import FedAttnProtocol
import FedAttnSecAgg
public import Foundation
public import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf

/// A client's FederationLink over gRPC.
public struct GRPCLink<Transport: ClientTransport>: FederationLink {
    private let client: Fedattn_V1_Federation.Client<Transport>
    private let metadata: Metadata

    init(client: GRPCClient<Transport>, insecureName: String?) {
        self.client = Fedattn_V1_Federation.Client(wrapping: client)
        var metadata = Metadata()
        if let insecureName { metadata.addString(insecureName, forKey: CoordinatorService.insecureIdentityHeader) }
        self.metadata = metadata
    }

    public func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo {
        let response = try await client.join(
            .with {
                $0.protocolVersion = protocolVersion
                $0.trainExamples = UInt64(max(trainExamples, 0))
            }, metadata: metadata)
        guard let items = ItemMapping(response.model.items) else {
            throw RPCError(code: .internalError, message: "the coordinator sent item mapping '\(response.model.items)'")
        }
        let model = ModelConfig(
            dim: Int(response.model.dim), historyLength: Int(response.model.historyLength), hidden: Int(response.model.hidden),
            items: items, strategies: Int(response.model.strategies))
        let l = response.limits
        let limits = CoordinatorLimits(
            maxUpdateBytes: Int(clamping: l.maxUpdateBytes), maxUpdateNorm: l.maxUpdateNorm, uploadTimeout: .milliseconds(Int(l.uploadTimeoutMs)),
            pieceBytes: Int(l.pieceBytes), updateChunkBytes: Int(l.updateChunkBytes), longPoll: .milliseconds(Int(l.longPollMs)),
            maxTrainExamples: Int(clamping: l.maxTrainExamples), roundTimeout: .milliseconds(Int(l.roundTimeoutMs)), uploadSlots: Int(l.uploadSlots))
        return JoinInfo(clientID: response.clientID, model: model, rounds: Int(response.rounds), limits: limits)
    }

    public func nextTask(lastRound: Int) async throws -> FederationTask {
        let task = try await Self.staleAsCoordinatorError {
            try await client.nextTask(.with { $0.lastRound = UInt32(lastRound) }, metadata: metadata)
        }
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
        case .evaluate: return .evaluate(round: Int(task.round), modelVersion: task.modelVersion)
        case .secure:
            do { return .secure(try SecureWire.task(task.secure)) } catch {
                throw RPCError(code: .internalError, message: "the coordinator sent an unusable secure task: \(error)")
            }
        case .wait: return .wait(retryAfter: .milliseconds(Int(task.retryAfterMs)))
        case .done: return .done(keptVersion: task.modelVersion.isEmpty ? nil : task.modelVersion)
        case .unspecified, .UNRECOGNIZED: return .wait(retryAfter: .milliseconds(100))
        }
    }

    /// The most a piece may carry, as the client asks; the coordinator sends at most 127 KiB.
    static var maxPieceBytes: Int { 4 << 20 }

    /// Fetches the model piece by piece: the delta from `base` when the coordinator has one
    /// (every piece must say the same), else the whole model. A version no longer served
    /// (NOT_FOUND) is `CoordinatorError.staleUpdate`: the task it came with is stale.
    public func downloadModel(version: String, base: String?) async throws -> DownloadedPayload {
        do {
            return try await download(version: version, base: base)
        } catch let error as RPCError where error.code == .notFound {
            // The version was replaced while this client meant to fetch it: its task is stale.
            throw CoordinatorError.staleUpdate(error.message)
        }
    }

    private func download(version: String, base: String?) async throws -> DownloadedPayload {
        var payload = Data()
        var total: UInt64?
        var deltaFrom: String?
        repeat {
            let piece = try await client.downloadModel(
                .with {
                    $0.modelVersion = version
                    $0.baseVersion = base ?? ""
                    $0.offset = UInt64(payload.count)
                    $0.maxBytes = UInt32(Self.maxPieceBytes)
                }, metadata: metadata)
            guard piece.offset == UInt64(payload.count), total == nil || total == piece.totalBytes,
                total == nil || deltaFrom == (piece.deltaFrom.isEmpty ? nil : piece.deltaFrom),
                piece.deltaFrom.isEmpty || piece.deltaFrom == base,
                piece.data.count <= Self.maxPieceBytes, UInt64(payload.count + piece.data.count) <= piece.totalBytes,
                !piece.data.isEmpty || UInt64(payload.count) == piece.totalBytes
            else {
                throw RPCError(
                    code: .dataLoss, message: "the coordinator sent an inconsistent piece of model \(version.prefix(12)) at byte \(payload.count)")
            }
            if total == nil { payload.reserveCapacity(Int(clamping: piece.totalBytes)) }
            total = piece.totalBytes
            deltaFrom = piece.deltaFrom.isEmpty ? nil : piece.deltaFrom
            payload.append(piece.data)
        } while UInt64(payload.count) < total!
        return DownloadedPayload(bytes: payload, deltaFrom: deltaFrom)
    }

    /// Waits for an upload slot (sending nothing meanwhile), then streams the update. An
    /// update the coordinator no longer wants is `CoordinatorError.staleUpdate`; a
    /// RESOURCE_EXHAUSTED refusal (over a size limit, compressed or inflated; or another
    /// upload of this client's still being read) is `CoordinatorError.tooLarge`.
    public func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        try await Self.staleAsCoordinatorError {
            do {
                return try await upload(round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
            } catch let error as RPCError where error.code == .resourceExhausted {
                throw CoordinatorError.tooLarge(error.message)
            }
        }
    }

    /// ABORTED (the update or report is no longer wanted) and FAILED_PRECONDITION (this
    /// coordinator does not know the client: it restarted) as the coordinator's own refusals.
    private static func staleAsCoordinatorError<T>(_ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch let error as RPCError where error.code == .aborted {
            throw CoordinatorError.staleUpdate(error.message)
        } catch let error as RPCError where error.code == .failedPrecondition {
            throw CoordinatorError.notJoinedAnyMore(error.message)
        }
    }

    private func upload(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        while true {
            let slot = try await client.reserveUpload(
                .with {
                    $0.round = UInt32(round)
                    $0.baseVersion = baseVersion
                }, metadata: metadata)
            if slot.granted { break }
            try await Task.sleep(for: .milliseconds(Int(slot.retryAfterMs)))
        }
        let receipt = try await client.uploadUpdate(metadata: metadata) { writer in
            try await writer.write(
                .with {
                    $0.header = .with {
                        $0.round = UInt32(round)
                        $0.baseVersion = baseVersion
                        $0.exampleCount = UInt64(examples)
                        $0.totalBytes = UInt64(payload.count)
                        $0.trainSeconds = trainSeconds
                    }
                })
            var offset = 0
            while offset < payload.count {
                let end = min(offset + CoordinatorService.chunkBytes, payload.count)
                try await writer.write(.with { $0.data = payload.subdata(in: offset..<end) })
                offset = end
            }
        }
        return receipt.message
    }

    /// Sends one answer to a secure phase; one no longer wanted is `CoordinatorError.staleUpdate`.
    public func sendSecure(_ reply: SecureReply) async throws {
        let bytes = RingPacking.pack(reply.masked, bits: reply.maskedBits)
        try await Self.staleAsCoordinatorError {
            do {
                _ = try await client.secureStep(metadata: metadata) { writer in
                    try await writer.write(.with { $0.reply = SecureWire.reply(reply) })
                    var offset = 0
                    while offset < bytes.count {
                        let end = min(offset + CoordinatorService.chunkBytes, bytes.count)
                        try await writer.write(.with { $0.masked = bytes.subdata(in: offset..<end) })
                        offset = end
                    }
                }
            } catch let error as RPCError where error.code == .resourceExhausted {
                throw CoordinatorError.tooLarge(error.message)
            }
        }
    }

    public func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws {
        _ = try await Self.staleAsCoordinatorError {
            try await client.reportEvaluation(
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
                }, metadata: metadata)
        }
    }
}

/// Connects to a coordinator and runs `body` with the link; the connection closes when
/// `body` returns. `name` identifies a plaintext (loopback) client.
public func withFederationLink<Result: Sendable>(
    host: String, port: Int, security: TransportSecurity, insecureName: String? = nil,
    _ body: (any FederationLink) async throws -> Result
) async throws -> Result {
    try security.check(host: host)
    let target: any ResolvableTarget =
        host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy({ UInt8($0) != nil })
        ? .ipv4(address: host, port: port) : .dns(host: host, port: port)
    let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: security.client)
    return try await withGRPCClient(transport: transport) { client in
        try await body(GRPCLink(client: client, insecureName: insecureName))
    }
}

/// Connects with server-verifying TLS but no client certificate: what an outsider without
/// a federation certificate can do. For tests of the coordinator's refusal.
public func withPlainTLSLink<Result: Sendable>(
    port: Int, trusting caPEM: String, _ body: (any FederationLink) async throws -> Result
) async throws -> Result {
    let transport = try HTTP2ClientTransport.Posix(
        target: .ipv4(address: "127.0.0.1", port: port),
        transportSecurity: .tls { $0.trustRoots = .certificates([.bytes(Array(caPEM.utf8), format: .pem)]) })
    return try await withGRPCClient(transport: transport) { client in
        try await body(GRPCLink(client: client, insecureName: nil))
    }
}
