public import FedAttnFederation
public import FedAttnModel
public import Foundation

/// A client of wire protocol 9 (before the most-popular baseline): it joins with 9 and never
/// shares counts; everything else goes through `inner` as it is.
public func Protocol9Link(inner: any FederationLink) -> JoinInterceptingLink {
    JoinInterceptingLink(inner: inner, join: { _, examples, inner in try await inner.join(protocolVersion: 9, trainExamples: examples) })
}

/// A link whose Join is `join` (given the version and examples the client sends, and `inner`);
/// everything else goes through `inner` as it is: a coordinator that answers Join its own way.
/// `tasks` hears every task the coordinator hands out through it; `secure` may rewrite each
/// secure answer before it goes (a hostile client).
public struct JoinInterceptingLink: FederationLink {
    let inner: any FederationLink
    let intercept: @Sendable (UInt32, Int, any FederationLink) async throws -> JoinInfo
    let tasks: @Sendable (FederationTask) -> Void
    let secure: @Sendable (SecureReply) -> SecureReply

    public init(
        inner: any FederationLink, tasks: @escaping @Sendable (FederationTask) -> Void = { _ in },
        secure: @escaping @Sendable (SecureReply) -> SecureReply = { $0 },
        join: @escaping @Sendable (UInt32, Int, any FederationLink) async throws -> JoinInfo = { version, examples, inner in
            try await inner.join(protocolVersion: version, trainExamples: examples)
        }
    ) {
        self.inner = inner
        self.tasks = tasks
        self.secure = secure
        intercept = join
    }

    public func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo {
        try await intercept(protocolVersion, trainExamples, inner)
    }
    public func nextTask(lastRound: Int) async throws -> FederationTask {
        let task = try await inner.nextTask(lastRound: lastRound)
        tasks(task)
        return task
    }
    public func downloadModel(version: String, base: String?) async throws -> DownloadedPayload {
        try await inner.downloadModel(version: version, base: base)
    }
    public func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        try await inner.uploadUpdate(round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
    }
    public func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws {
        try await inner.reportEvaluation(round: round, version: version, report: report)
    }
    public func sendSecure(_ reply: SecureReply) async throws { try await inner.sendSecure(secure(reply)) }
    public func sharePopularity(_ counts: PopularityCounts?) async throws -> String { try await inner.sharePopularity(counts) }
}
