public import Foundation

/// How a coordinator runs its federation.
public struct CoordinatorConfig: Sendable {
    /// Rounds to publish before the federation is done.
    public var rounds: Int
    /// Clients that must have joined before the first round starts.
    public var minClients: Int
    /// Clients selected each round; 0 selects every joined client.
    public var clientsPerRound: Int
    /// The fewest updates a round may close with at its timeout (otherwise it is retried).
    public var quorum: Int
    /// How long a round waits for updates, and an evaluation for reports.
    public var roundTimeout: Duration
    /// What each selected client is asked to do.
    public var plan: LocalTrainingPlan
    /// The largest update payload accepted, compressed and decompressed.
    public var maxUpdateBytes: Int
    /// How long one upload may take to arrive whole; a slower (or silent) one is cut off.
    public var uploadTimeout: Duration
    /// The largest L2 norm an update may have; a larger one is refused as absurd (a broken
    /// or hostile client), before it can swamp the average.
    public var maxUpdateNorm: Double
    /// The server's step along the averaged delta (FedAvg with a server learning rate;
    /// 1 is plain FedAvg). Larger steps make up for averaging many short trajectories.
    public var serverLearningRate: Float
    /// The most training examples a client may declare at Join (and so claim for an
    /// update's weight): a silo claiming 10^12 would otherwise outweigh all others.
    public var maxTrainExamples: Int

    public init(
        rounds: Int = 20, minClients: Int = 1, clientsPerRound: Int = 0, quorum: Int = 1, roundTimeout: Duration = .seconds(300),
        plan: LocalTrainingPlan = LocalTrainingPlan(), maxUpdateBytes: Int = 256 << 20, serverLearningRate: Float = 1,
        maxUpdateNorm: Double = 1_000, uploadTimeout: Duration = .seconds(120), maxTrainExamples: Int = 100_000_000
    ) {
        self.maxTrainExamples = maxTrainExamples
        self.uploadTimeout = uploadTimeout
        self.maxUpdateNorm = maxUpdateNorm
        self.serverLearningRate = serverLearningRate
        self.rounds = rounds
        self.minClients = minClients
        self.clientsPerRound = clientsPerRound
        self.quorum = quorum
        self.roundTimeout = roundTimeout
        self.plan = plan
        self.maxUpdateBytes = maxUpdateBytes
    }
}

/// What the coordinator asks of one client.
public enum FederationTask: Sendable, Equatable {
    case train(round: Int, modelVersion: String, plan: LocalTrainingPlan)
    case evaluate(round: Int, modelVersion: String)
    case wait(retryAfter: Duration)
    case done
}

/// A finished round, as the coordinator records it.
public struct RoundRecord: Sendable, Equatable {
    public let round: Int
    /// The version published by the round.
    public let modelVersion: String
    public let participants: [String]
    public let examples: Int
    public let testAUC: Double?
    public let testLogLoss: Double?
    public let evaluatedClients: Int
    public let bytesUpPerClient: Int
    public let bytesDownPerClient: Int
    public let seconds: Double
    public let trainSecondsMax: Double
    /// Why earlier attempts at this round were retried, if any were.
    public let retries: [String]
}

/// Part of a model version's payload.
public struct ModelPiece: Sendable {
    public let bytes: Data
    /// The whole payload's size.
    public let totalBytes: Int
}

/// Why the coordinator refused a call. The transport maps each case to a status code.
public enum CoordinatorError: Error, Equatable, CustomStringConvertible {
    case protocolMismatch(client: UInt32, coordinator: UInt32)
    case notJoined(String)
    case staleUpdate(String)
    case invalidUpdate(String)
    case tooLarge(String)
    /// A call whose arguments cannot be right (a declared example count out of bounds, an
    /// evaluation whose counts disagree).
    case invalidRequest(String)
    case unknownVersion(String)
    case outOfRange(String)
    /// The coordinator could not do its part (reading a payload file): worth trying again.
    case unavailable(String)

    public var description: String {
        switch self {
        case .protocolMismatch(let client, let coordinator):
            "protocol version mismatch: the client speaks version \(client), the coordinator version \(coordinator)"
        case .notJoined(let client): "client '\(client)' has not joined"
        case .staleUpdate(let why), .invalidUpdate(let why), .tooLarge(let why), .invalidRequest(let why), .outOfRange(let why), .unavailable(let why):
            why
        case .unknownVersion(let version): "no model version \(version)"
        }
    }
}
