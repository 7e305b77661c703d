import FedAttnCodec
import FedAttnFederation
import FedAttnModel
import Foundation
import Synchronization

/// A hostile client's link: before each real update it uploads a decompression bomb (a zstd
/// frame that hides its size and inflates to 1 GiB of zeros) and counts how the coordinator
/// answered. Everything else passes through to `link`.
struct BombingLink: FederationLink {
    let link: any FederationLink
    let bomb: Data
    let tally: BombTally

    func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo {
        try await link.join(protocolVersion: protocolVersion, trainExamples: trainExamples)
    }

    func nextTask(lastRound: Int) async throws -> FederationTask { try await link.nextTask(lastRound: lastRound) }

    func downloadModel(version: String, base: String?) async throws -> DownloadedPayload {
        try await link.downloadModel(version: version, base: base)
    }

    func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        do {
            _ = try await link.uploadUpdate(round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: bomb)
            tally.record(refused: false)
        } catch let error as CoordinatorError where error.kind == .tooLarge {
            tally.record(refused: true)
        }
        return try await link.uploadUpdate(round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
    }

    func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws {
        try await link.reportEvaluation(round: round, version: version, report: report)
    }

    func sendSecure(_ reply: SecureReply) async throws { try await link.sendSecure(reply) }

    /// 1 GiB of zeros in one streamed zstd frame (about 32 KB), its size left out of the header.
    static func bomb() throws -> Data {
        try ZstdFrame.compressStreaming(repeatElement(Data(count: 1 << 20), count: 1 << 10), level: 1)
    }
}

/// Bombs sent and refused, across all clients.
final class BombTally: Sendable {
    private let counts = Mutex((sent: 0, refused: 0))

    func record(refused: Bool) { counts.withLock { $0 = ($0.sent + 1, $0.refused + (refused ? 1 : 0)) } }
    var sent: Int { counts.withLock { $0.sent } }
    var refused: Int { counts.withLock { $0.refused } }
}
