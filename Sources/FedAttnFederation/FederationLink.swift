import Crypto
public import FedAttnModel
public import Foundation

/// A model version's name: the SHA-256 of its payload in hex, so that a client can check
/// that the bytes it downloaded are the version it asked for.
public func modelVersion(of payload: Data) -> String {
    SHA256.hash(data: payload).map { String(format: "%02x", $0) }.joined()
}

/// What a client learns when it joins.
public struct JoinInfo: Sendable {
    public let clientID: String
    public let model: ModelConfig
    public let rounds: Int

    public init(clientID: String, model: ModelConfig, rounds: Int) {
        self.clientID = clientID
        self.model = model
        self.rounds = rounds
    }
}

/// A client's connection to its coordinator, whatever carries it (gRPC, or a direct call
/// in tests). Each call is one request of the wire protocol.
public protocol FederationLink: Sendable {
    /// Joins with the protocol version the client speaks.
    func join(protocolVersion: UInt32) async throws -> JoinInfo
    /// The next task; may take a while (a long poll).
    func nextTask(lastRound: Int) async throws -> FederationTask
    /// The payload of a model version.
    func downloadModel(version: String) async throws -> Data
    /// Sends one update; returns the coordinator's receipt message.
    func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String
    /// Sends one evaluation of a model version.
    func reportEvaluation(round: Int, version: String, summary: EvaluationSummary) async throws
}
