public import FedAttnFederation
public import FedAttnModel
public import Foundation

/// A client of wire protocol 9 (before the most-popular baseline): it joins with 9 and never
/// shares counts; everything else goes through `inner` as it is.
public struct Protocol9Link: FederationLink {
    let inner: any FederationLink

    public init(inner: any FederationLink) { self.inner = inner }

    public func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo {
        try await inner.join(protocolVersion: 9, trainExamples: trainExamples)
    }
    public func nextTask(lastRound: Int) async throws -> FederationTask { try await inner.nextTask(lastRound: lastRound) }
    public func downloadModel(version: String, base: String?) async throws -> DownloadedPayload {
        try await inner.downloadModel(version: version, base: base)
    }
    public func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        try await inner.uploadUpdate(round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
    }
    public func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws {
        try await inner.reportEvaluation(round: round, version: version, report: report)
    }
    public func sendSecure(_ reply: SecureReply) async throws { try await inner.sendSecure(reply) }
}
