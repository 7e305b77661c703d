public import FedAttnAggregation
public import FedAttnModel
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
    /// The server's update rule (FedAvg, FedAvgM, FedAdam, FedYogi, FedAdagrad) and its
    /// learning rate. Its state (momentum, moments) is stored with each round.
    public var server: ServerOptimizer
    /// Stop once the pooled validation AUC has not improved for this many rounds (0: run
    /// every round). The best round's model is kept either way.
    public var patience: Int
    /// What the kept round is chosen by (and patience counts).
    public var selectBy: SelectionMetric = .auc
    /// The most training examples a client may declare at Join (and so claim for an
    /// update's weight): a silo claiming 10^12 would otherwise outweigh all others. At most
    /// `maxDeclarableExamples`.
    public var maxTrainExamples: Int
    /// The largest `maxTrainExamples` a coordinator takes: 2^40 (about 10^12). Declared counts
    /// are added up over a round's clients (a round's examples, FedAvg's and FedNova's
    /// weights, a secure sum's) and multiplied by epochs (local and DP-SGD steps); at this
    /// bound the sums of 2^23 clients, and the steps of 2^20 epochs, fit an `Int`, where a
    /// larger bound let a few hundred joined clients, each declaring the most, overflow
    /// them and stop the process.
    public static let maxDeclarableExamples = 1 << 40
    /// Example-level DP-SGD in every silo, and its accounting, when set.
    public var examplePrivacy: ExamplePrivacy?
    /// Secure aggregation (SecAgg+), when set: the coordinator sees only the round's sum.
    public var secureAggregation: SecureAggregationSettings?
    /// With DP-FedAvg: no round starts that would take the epsilon per silo past this (a
    /// round's sampling rate rises when fewer clients are connected).
    public var clientEpsilonBudget: Double?
    /// The fewest silos whose item counts the most-popular baseline pools (protocol 10): with
    /// two, each could subtract its own counts from the pool and read the other's exactly; with
    /// fewer, no pool is handed out and the baseline is not measured. At least 2.
    public var popularityMinimumSilos: Int = 3

    public init(
        rounds: Int = 20, minClients: Int = 1, clientsPerRound: Int = 0, quorum: Int = 1, roundTimeout: Duration = .seconds(300),
        plan: LocalTrainingPlan = LocalTrainingPlan(), maxUpdateBytes: Int = 256 << 20, server: ServerOptimizer = ServerOptimizer(),
        maxUpdateNorm: Double = 1_000, uploadTimeout: Duration = .seconds(120), maxTrainExamples: Int = 100_000_000, patience: Int = 0,
        examplePrivacy: ExamplePrivacy? = nil
    ) {
        self.examplePrivacy = examplePrivacy
        self.patience = patience
        self.maxTrainExamples = maxTrainExamples
        self.uploadTimeout = uploadTimeout
        self.maxUpdateNorm = maxUpdateNorm
        self.server = server
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
    /// Evaluate `modelVersion`; with `popularity` (protocol 10), the federation's pooled item
    /// counts, by which the client scores the most-popular baseline beside the model.
    case evaluate(round: Int, modelVersion: String, popularity: PopularityCounts? = nil)
    /// A phase of a secure round (after training).
    case secure(SecureTask)
    case wait(retryAfter: Duration)
    /// The federation is over; `keptVersion` names the model of the round kept (best
    /// validation), which a client may download to keep (nil: no round was kept).
    case done(keptVersion: String?)

    /// The round a training, evaluation or secure task belongs to.
    public var round: Int? {
        switch self {
        case .train(let round, _, _), .evaluate(let round, _, _): round
        case .secure(let task): task.round
        case .wait, .done: nil
        }
    }
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
    /// Wall seconds from the start of the round's first attempt (retries and waiting for
    /// clients between them included) to its evaluations pooled. The bytes, examples and
    /// training seconds are the last attempt's, whose updates were aggregated.
    public let seconds: Double
    public let trainSecondsMax: Double
    /// Why earlier attempts at this round were retried, if any were.
    public let retries: [String]
    /// The trimmed mean of the silos' own validation AUCs (their validation splits are carved
    /// from their train rows; see `RoundEvaluations`); nil when none reported one. Under
    /// `--select-by auc` the round kept (`best.safetensors`) is the one with the highest.
    public var validationAUC: Double? = nil
    public var validationLogLoss: Double? = nil
    /// HR@10 and NDCG@10 of the leave-one-out ranking protocol, pooled over `rankedUsers`.
    public var hitRate: Double? = nil
    public var ndcg: Double? = nil
    public var rankedUsers: Int = 0
    /// The trimmed mean of the silos' own validation NDCG@10 (each user's last clicked
    /// validation item among 99 sampled negatives), what `--select-by ndcg` keeps a round by.
    public var validationNDCG: Double? = nil
    /// Recall@20 and NDCG@20 over the whole catalogue, pooled over `catalogueUsers`.
    public var recallAt20: Double? = nil
    public var ndcgAt20: Double? = nil
    public var catalogueUsers: Int = 0
    /// With DP-FedAvg: the (epsilon, at `CoordinatorConfig`'s delta) spent by the rounds so far, per silo.
    public var epsilon: Double? = nil
    /// With example-level DP-SGD: the largest epsilon any silo has spent so far (each at its
    /// own delta; see `ExamplePrivacy`).
    public var exampleEpsilon: Double? = nil
    /// With DP-FedAvg: the round's sampling rate in the accounting.
    public var dpSamplingRate: Double? = nil
    /// Silos whose evaluation disagreed with the others' or with their own earlier ones, or
    /// claimed counts out of proportion to their declared examples: one line each, naming the
    /// silo and the figures (see `RoundEvaluations`).
    public var disputes: [String] = []
    /// The figures of each silo the round's figures count, by silo name (empty in folders
    /// written before they were kept): model selection compares two rounds on the silos
    /// both were evaluated by.
    public var siloScores: [String: SiloScores] = [:]
}

extension RoundRecord {
    /// A record of the figures a test sets; the rest empty.
    package init(round: Int, modelVersion: String, participants: [String], testAUC: Double?, validationAUC: Double? = nil) {
        self.init(
            round: round, modelVersion: modelVersion, participants: participants, examples: participants.count, testAUC: testAUC, testLogLoss: nil,
            evaluatedClients: participants.count, bytesUpPerClient: 0, bytesDownPerClient: 0, seconds: 0, trainSecondsMax: 0, retries: [],
            validationAUC: validationAUC)
    }
}

/// Part of a model version's payload.
public struct ModelPiece: Sendable {
    public let bytes: Data
    /// The whole payload's size.
    public let totalBytes: Int
    /// The version the payload is a delta from (float32Step), or nil for the whole model.
    public let deltaFrom: String?

    public init(bytes: Data, totalBytes: Int, deltaFrom: String? = nil) {
        self.bytes = bytes
        self.totalBytes = totalBytes
        self.deltaFrom = deltaFrom
    }
}

/// Why the coordinator refused a call: its kind (which the transport maps to a status code)
/// and a message naming the client, the tensor or the round and the reason. A struct over a
/// private enum, so that kinds can be added without breaking callers.
public struct CoordinatorError: Error, Equatable, CustomStringConvertible {
    /// What kind of refusal it is.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Wrapped: String {
            case protocolMismatch, notJoined, stale, invalidUpdate, tooLarge, invalidRequest, unknownVersion, outOfRange, unavailable,
                otherDownload
        }
        fileprivate let wrapped: Wrapped

        /// The client speaks another protocol version.
        public static let protocolMismatch = Kind(wrapped: .protocolMismatch)
        /// A call from a client that has not joined.
        public static let notJoined = Kind(wrapped: .notJoined)
        /// An update or evaluation no longer (or not yet) wanted: the client drops it and carries on.
        public static let stale = Kind(wrapped: .stale)
        /// An update that does not decode, does not fit the model, or breaks a bound.
        public static let invalidUpdate = Kind(wrapped: .invalidUpdate)
        /// A payload over the size limit.
        public static let tooLarge = Kind(wrapped: .tooLarge)
        /// A call whose arguments cannot be right (a declared example count out of bounds, an
        /// evaluation whose counts disagree).
        public static let invalidRequest = Kind(wrapped: .invalidRequest)
        /// A model version the coordinator does not serve.
        public static let unknownVersion = Kind(wrapped: .unknownVersion)
        /// A model piece past the payload's end.
        public static let outOfRange = Kind(wrapped: .outOfRange)
        /// The coordinator could not do its part (reading a payload file): worth trying again.
        public static let unavailable = Kind(wrapped: .unavailable)
        /// A model piece past offset 0 that is not of the payload the client's download began
        /// with (another version or base, or that payload is gone): begin the download again.
        public static let otherDownload = Kind(wrapped: .otherDownload)

        public var description: String { wrapped.rawValue }
    }

    public let kind: Kind
    /// What was refused and why, for the client and the log.
    public let message: String

    public var description: String { message }

    /// The message, when the error is of `kind`.
    public func message(if kind: Kind) -> String? { self.kind == kind ? message : nil }

    /// A client of `version`, which the coordinator (speaking `coordinator`, newest first) does not admit.
    public static func protocolMismatch(_ client: String, speaks version: UInt32, coordinator: [UInt32]) -> Self {
        let spoken = coordinator.map { "\($0)" }
        let list = spoken.count > 1 ? spoken.dropLast().joined(separator: ", ") + " and " + spoken[spoken.count - 1] : spoken.joined()
        return Self(
            kind: .protocolMismatch,
            message:
                "protocol version mismatch: client '\(client)' speaks version \(version); this coordinator speaks version\(spoken.count > 1 ? "s" : "") \(list)"
        )
    }
    /// A `protocolMismatch` refusal as a client hears it, with the coordinator's own words.
    public static func protocolRefused(_ message: String) -> Self { Self(kind: .protocolMismatch, message: message) }
    public static func notJoined(_ client: String) -> Self {
        Self(kind: .notJoined, message: "client '\(client)' has not joined (or the coordinator restarted since): join again")
    }
    /// A `notJoined` refusal as a client hears it, with the coordinator's own words.
    public static func notJoinedAnyMore(_ message: String) -> Self { Self(kind: .notJoined, message: message) }
    public static func staleUpdate(_ why: String) -> Self { Self(kind: .stale, message: why) }
    public static func invalidUpdate(_ why: String) -> Self { Self(kind: .invalidUpdate, message: why) }
    public static func tooLarge(_ why: String) -> Self { Self(kind: .tooLarge, message: why) }
    public static func invalidRequest(_ why: String) -> Self { Self(kind: .invalidRequest, message: why) }
    /// A version not served; `client` names who asked (nil where the caller does not know).
    public static func unknownVersion(_ version: String, client: String? = nil) -> Self {
        Self(
            kind: .unknownVersion,
            message: client.map { "client '\($0)' asks for model version \(version), which this coordinator does not serve (any more)" }
                ?? "no model version \(version)")
    }
    public static func outOfRange(_ why: String) -> Self { Self(kind: .outOfRange, message: why) }
    public static func unavailable(_ why: String) -> Self { Self(kind: .unavailable, message: why) }
    public static func otherDownload(_ why: String) -> Self { Self(kind: .otherDownload, message: why) }
}

/// A state folder a coordinator cannot resume from: a file in it unreadable or not what it
/// should be, or written by another configuration (model, server optimiser). The coordinator's
/// own fault, never a client's: `serve` stops, naming the file, and changes nothing in it.
public struct StateFolderError: Error, Equatable, CustomStringConvertible {
    /// What is wrong, naming the file and what to do.
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
