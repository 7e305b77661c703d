public import FedAttnModel
public import Foundation

/// A FederationLink that calls the coordinator directly: the same coordinator and client
/// code as over gRPC, without sockets, for tests and quick experiments.
public struct InProcessLink: FederationLink {
    public let coordinator: Coordinator
    public let client: String

    public init(coordinator: Coordinator, client: String) {
        self.coordinator = coordinator
        self.client = client
    }

    public func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo {
        try await coordinator.join(client: client, protocolVersion: protocolVersion, trainExamples: trainExamples)
        return JoinInfo(
            clientID: client, model: coordinator.modelConfig, rounds: coordinator.config.rounds, limits: coordinator.limits(),
            popularity: coordinator.popularityPolicy(protocolVersion: protocolVersion))
    }

    public func nextTask(lastRound: Int) async throws -> FederationTask {
        try await coordinator.nextTask(client: client)
    }

    public func downloadModel(version: String, base: String?) async throws -> DownloadedPayload {
        let piece: ModelPiece
        do {
            piece = try await coordinator.modelPiece(version: version, base: base, offset: 0, maxBytes: .max, for: client)
        } catch  where error.kind == .unknownVersion {
            throw CoordinatorError.staleUpdate(error.message)  // as over gRPC
        }
        return DownloadedPayload(bytes: piece.bytes, deltaFrom: piece.deltaFrom)
    }

    public func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        try await coordinator.submitUpdate(
            client: client, round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
        return "update for round \(round) counted"
    }

    public func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws {
        try await coordinator.submitEvaluation(client: client, round: round, version: version, report: report)
    }

    public func sharePopularity(_ counts: PopularityCounts?) async throws -> String {
        try await coordinator.sharePopularity(client: client, counts: counts).message
    }

    public func sendSecure(_ reply: SecureReply) async throws {
        try await coordinator.submitSecure(client: client, reply: reply, bytes: reply.approximateBytes)
    }
}
