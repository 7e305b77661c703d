import FedAttnFederation
import FedAttnModel
import Foundation
import Synchronization

/// A silo that drops out of one secure round after sending its masked values: its connection
/// closes (the coordinator hears it leave at once), so the round must unmask its input from its
/// neighbours' shares; it joins again on its next call, for the rounds after. In process only.
struct DroppingOutLink: FederationLink {
    let inner: InProcessLink
    /// The round it drops out of (its first attempt).
    let round: Int
    private let state = Dropped()

    private final class Dropped: Sendable {
        let away = Mutex(false)
        let examples = Mutex(0)
    }

    init(inner: InProcessLink, round: Int) {
        self.inner = inner
        self.round = round
    }

    func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo {
        state.examples.withLock { $0 = trainExamples }
        return try await inner.join(protocolVersion: protocolVersion, trainExamples: trainExamples)
    }

    func nextTask(lastRound: Int) async throws -> FederationTask {
        if state.away.withLock({ $0 }) {
            // Back for the next round: joining again on a new connection.
            let examples = state.examples.withLock { $0 }
            try await inner.coordinator.join(
                client: inner.client, protocolVersion: Coordinator.protocolVersion, trainExamples: examples, connection: "rejoined-\(round)")
            state.away.withLock { $0 = false }
        }
        return try await inner.nextTask(lastRound: lastRound)
    }

    func downloadModel(version: String, base: String?) async throws -> DownloadedPayload {
        try await inner.downloadModel(version: version, base: base)
    }

    func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        try await inner.uploadUpdate(round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
    }

    func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws {
        try await inner.reportEvaluation(round: round, version: version, report: report)
    }

    func sendSecure(_ reply: SecureReply) async throws {
        try await inner.sendSecure(reply)
        guard reply.phase == .maskValues, reply.round == round, reply.attempt == 1 else { return }
        state.away.withLock { $0 = true }
        await inner.coordinator.leave(client: inner.client)
        // Away while the round unmasks without it (its evaluation too).
        _ = await inner.coordinator.history(beyond: round - 1)
    }
}
