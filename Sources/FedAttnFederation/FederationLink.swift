public import FedAttnModel
public import Foundation

/// A downloaded model payload: the whole model, or a delta from a version the client holds.
public struct DownloadedPayload: Sendable {
    /// The payload (protocol `TensorPayload`: float32, or float32Step for a delta).
    public let bytes: Data
    /// The version the payload is a delta from, or nil for the whole model.
    public let deltaFrom: String?

    public init(bytes: Data, deltaFrom: String? = nil) {
        self.bytes = bytes
        self.deltaFrom = deltaFrom
    }
}

/// What a client learns when it joins.
public struct JoinInfo: Sendable {
    public let clientID: String
    public let model: ModelConfig
    public let rounds: Int
    /// What the coordinator accepts.
    public let limits: CoordinatorLimits
    /// Whether the federation pools the items' counts for the most-popular baseline, how
    /// (in the clear, or as a secure sum: protocol 11), or why not (protocol 10; a coordinator
    /// of 9 says nothing: `.unspecified`).
    public let popularity: PopularityPolicy

    public init(clientID: String, model: ModelConfig, rounds: Int, limits: CoordinatorLimits, popularity: PopularityPolicy = .unspecified) {
        self.clientID = clientID
        self.model = model
        self.rounds = rounds
        self.limits = limits
        self.popularity = popularity
    }
}

/// The coordinator's limits as a client hears them at Join (protocol `Limits`).
public struct CoordinatorLimits: Sendable, Equatable {
    /// The largest update payload, compressed or decompressed, in bytes.
    public var maxUpdateBytes: Int
    /// The largest L2 norm of an update's values.
    public var maxUpdateNorm: Double
    /// The longest an upload may take to arrive whole.
    public var uploadTimeout: Duration
    /// The most bytes one model piece carries.
    public var pieceBytes: Int
    /// The largest upload data chunk the coordinator expects.
    public var updateChunkBytes: Int
    /// How long NextTask holds a call while there is nothing to do.
    public var longPoll: Duration
    /// The most training examples a client may declare.
    public var maxTrainExamples: Int
    /// How long a round waits for updates.
    public var roundTimeout: Duration
    /// Uploads read at once.
    public var uploadSlots: Int
    /// The largest payload of the model once decompressed (every table row listed, float32):
    /// an update decompresses to at most this and `maxUpdateBytes`.
    public var maxPayloadBytes: Int
    /// A payload's zstd frame asks for a window of at most 2^this bytes.
    public var maxZstdWindowLog: Int
    /// With secure aggregation: how long each phase after training waits (nil: none).
    public var securePhaseTimeout: Duration?
    /// The largest message the coordinator reads, in bytes (a larger one is refused).
    public var maxMessageBytes: Int
    /// The most items a share of popularity counts, or the pooled counts, may name.
    public var maxPopularityItems: Int

    public init(
        maxUpdateBytes: Int, maxUpdateNorm: Double, uploadTimeout: Duration, pieceBytes: Int, updateChunkBytes: Int, longPoll: Duration,
        maxTrainExamples: Int, roundTimeout: Duration, uploadSlots: Int, maxPayloadBytes: Int = .max, maxZstdWindowLog: Int = 23,
        securePhaseTimeout: Duration? = nil, maxMessageBytes: Int = .max, maxPopularityItems: Int = 262_144
    ) {
        self.maxPopularityItems = maxPopularityItems
        self.maxUpdateBytes = maxUpdateBytes
        self.maxUpdateNorm = maxUpdateNorm
        self.uploadTimeout = uploadTimeout
        self.pieceBytes = pieceBytes
        self.updateChunkBytes = updateChunkBytes
        self.longPoll = longPoll
        self.maxTrainExamples = maxTrainExamples
        self.roundTimeout = roundTimeout
        self.uploadSlots = uploadSlots
        self.maxPayloadBytes = maxPayloadBytes
        self.maxZstdWindowLog = maxZstdWindowLog
        self.securePhaseTimeout = securePhaseTimeout
        self.maxMessageBytes = maxMessageBytes
    }
}

/// A client's connection to its coordinator, whatever carries it (gRPC, or a direct call
/// in tests). Each call is one request of the wire protocol.
public protocol FederationLink: Sendable {
    /// Joins with the protocol version the client speaks and its number of training
    /// examples (no update of it may claim more).
    func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo
    /// The next task; may take a while (a long poll).
    func nextTask(lastRound: Int) async throws -> FederationTask
    /// The payload of a model version: a delta from `base` when the client holds that
    /// version and the coordinator has one, else the whole model. The bytes are not checked
    /// here: the version names the model, and only the decoded model can be checked.
    func downloadModel(version: String, base: String?) async throws -> DownloadedPayload
    /// Sends one update; returns the coordinator's receipt message.
    func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String
    /// Sends one evaluation of a model version.
    func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws
    /// Sends one answer to a phase of a secure round (secure aggregation).
    func sendSecure(_ reply: SecureReply) async throws
    /// Shares the silo's item counts for the most-popular baseline, or declines (nil), once
    /// after Join when the federation pools them (protocol 10); returns the coordinator's word.
    /// A refusal is `CoordinatorError.invalidRequest`.
    func sharePopularity(_ counts: PopularityCounts?) async throws -> String
}

extension FederationLink {
    /// A link that carries no popularity counts (a client of protocol 9, a test's stand-in)
    /// shares none: the coordinator never hears from it, and it gets no baseline.
    public func sharePopularity(_ counts: PopularityCounts?) async throws -> String {
        throw CoordinatorError.invalidRequest("this link carries no popularity counts: nothing shared")
    }
}
