public import FedAttnAggregation
public import FedAttnModel
public import FedAttnSecAgg
public import Logging

/// Something that happened to a federation, as the round state machine hears of it. The
/// actor that owns the machine turns calls, closed connections, finished I/O and the clock
/// into events; the machine answers each with `RoundAction`s.
public enum RoundEvent: Sendable, Equatable {
    /// A client joined, or came back on a new connection. `connection` names the connection
    /// (the peer address over gRPC), so that the close of an old one cannot undo a newer join.
    /// `trainExamples` is what it declared: no update of it may claim more (nil keeps what it
    /// declared before; without any, updates are bounded by `CoordinatorConfig.maxTrainExamples`).
    case joined(client: String, connection: String, trainExamples: Int? = nil)
    /// A client's connection closed, or it said goodbye.
    case left(client: String, connection: String)
    /// A decoded and checked update arrived. The machine accepts it (`.fold`) or refuses it.
    case update(UpdateArrival)
    /// `bytes` of a model were served to `client` (counted toward the round's bytes down).
    case downloaded(client: String, bytes: Int)
    /// A client's evaluation of the round's new model.
    case evaluation(client: String, round: Int, version: String, report: EvaluationReport)
    /// The round's new model is stored and served as `version`.
    case published(round: Int, version: String)
    /// Aggregation gave no model: the round is trained again.
    case aggregationFailed(round: Int, reason: String)
    /// The new model could not be stored (a full disk, say). It is kept, and storing it is
    /// tried again after a backoff: no silo retrains for it.
    case storeFailed(round: Int, reason: String)
    /// A client's answer to a phase of a secure round, checked by the owner (its content is
    /// the owner's business). At `.advertise` it is the client's update arrival.
    case secure(SecureArrival)
    /// A secure round's step failed (too few shares, a protocol violation): the round is retried.
    case secureFailed(round: Int, reason: String)
    /// Time passed: a deadline or a backoff may have come.
    case tick
}

extension RoundEvent {
    /// A model piece served: the one event that never moves a round.
    var isDownload: Bool { if case .downloaded = self { true } else { false } }
}

/// What a client's secure-phase answer says about itself.
public struct SecureArrival: Sendable, Equatable {
    public let client: String
    public let round: Int
    public let attempt: Int
    public let phase: SecurePhase
    /// Bytes it sent, for the round's bytes-up figure.
    public let bytes: Int
    /// At `.advertise`: the version it trained from, its examples, its training seconds.
    public let baseVersion: String
    public let examples: Int
    public let trainSeconds: Double
    /// Why the client cannot go on (it aborts this round), or nil.
    public let abort: String?

    public init(
        client: String, round: Int, attempt: Int, phase: SecurePhase, bytes: Int, baseVersion: String = "", examples: Int = 0,
        trainSeconds: Double = 0, abort: String? = nil
    ) {
        self.abort = abort
        self.client = client
        self.round = round
        self.attempt = attempt
        self.phase = phase
        self.bytes = bytes
        self.baseVersion = baseVersion
        self.examples = examples
        self.trainSeconds = trainSeconds
    }
}

/// What a client's update says about itself (its payload is the actor's business).
public struct UpdateArrival: Sendable, Equatable {
    public let client: String
    public let round: Int
    public let baseVersion: String
    /// Training examples behind the update: its weight in the average.
    public let examples: Int
    /// Compressed size in bytes, for the round's bytes-up figure.
    public let bytes: Int
    /// Seconds the client spent training.
    public let trainSeconds: Double

    public init(client: String, round: Int, baseVersion: String, examples: Int, bytes: Int, trainSeconds: Double) {
        self.client = client
        self.round = round
        self.baseVersion = baseVersion
        self.examples = examples
        self.bytes = bytes
        self.trainSeconds = trainSeconds
    }
}

/// What the machine asks its owner to do. None of it is done by the machine itself.
public enum RoundAction: Sendable, Equatable {
    /// One line for the operator, at its level.
    case log(Logger.Level, String)
    /// Start collecting round `round`'s updates into a fresh running sum; `attempt` counts
    /// from 1 (more after retries).
    case beginTraining(round: Int, selected: [String], attempt: Int)
    /// Make these example-level privacy charges durable (the state folder's ledger) before any
    /// silo is given the round's task.
    case chargePrivacy([PrivacyCharge])
    /// Fold the update just accepted into the running sum.
    case fold(client: String)
    /// A secure round starts (or starts again): its clients' ids, graph, threshold and weights.
    case secureBegin(SecureRoundPlan)
    /// Keep the secure answer just accepted for its phase.
    case secureFold(client: String)
    /// A secure phase closed with these clients' answers: take its step (relay keys or
    /// shares, take the masked inputs, unmask the indicators into the rows known), answering
    /// `.secureFailed` if it cannot.
    case secureClose(round: Int, phase: SecurePhase, answered: Set<String>)
    /// Aggregate the running sum (with secure aggregation: unmask the values' sum) into the next model, store and serve it, then answer with
    /// `.published`, `.aggregationFailed` or `.storeFailed`.
    case aggregate(RoundOutcome)
    /// Store the model kept from a failed attempt again; answer `.published` or `.storeFailed`.
    case storeAgain(RoundOutcome)
    /// A round is finished: keep its record.
    case record(RoundRecord)
    /// The round just recorded is the best so far by validation AUC: keep its model as the best.
    case keepBest(round: Int)
    /// Every round is done.
    case finish
}

/// What a closed round's training produced, as stored with its model.
public struct RoundOutcome: Sendable, Equatable {
    public let round: Int
    /// Clients whose updates were folded in, in arrival order.
    public let participants: [String]
    public let examples: Int
    public let bytesUpPerClient: Int
    public let trainSecondsMax: Double
    /// With DP-FedAvg: the round's sampling rate in the accounting (clients per round over
    /// those connected, or 1).
    public let dpSamplingRate: Double?

    public init(
        round: Int, participants: [String], examples: Int, bytesUpPerClient: Int, trainSecondsMax: Double, dpSamplingRate: Double? = nil
    ) {
        self.dpSamplingRate = dpSamplingRate
        self.round = round
        self.participants = participants
        self.examples = examples
        self.bytesUpPerClient = bytesUpPerClient
        self.trainSecondsMax = trainSecondsMax
    }
}

/// A secure round's plan: who takes part under which id (a random order), the graph (drawn
/// from fresh randomness, so that no one can place itself beside a chosen silo by when it
/// joined), the threshold, each client's weight in the mean (its declared examples over the
/// selected clients' total) and the session.
public struct SecureRoundPlan: Sendable, Equatable {
    public let round: Int
    public let attempt: Int
    public let ids: [String: Int]
    public let graph: NeighbourGraph
    public let threshold: Int
    /// What each client scales its values by: its coefficient in the mean over all of the
    /// round's clients (`UpdateAccumulator.Weighting.coefficients`).
    public let weights: [String: Float]
    /// How the coefficients were made, and from what (declared train examples, local steps):
    /// what rebuilds them over the clients a sum ends up counting.
    public let weighting: UpdateAccumulator.Weighting
    public let examples: [String: Int]
    public let steps: [String: Int]
    /// Random: binds the round's keys (`SecurePlan.session`).
    public let session: UInt64

    public init(
        round: Int, attempt: Int, session: UInt64, ids: [String: Int], graph: NeighbourGraph, threshold: Int,
        weighting: UpdateAccumulator.Weighting, examples: [String: Int], steps: [String: Int]
    ) {
        self.round = round
        self.attempt = attempt
        self.session = session
        self.ids = ids
        self.graph = graph
        self.threshold = threshold
        self.weighting = weighting
        self.examples = examples
        self.steps = steps
        let clients = Array(ids.keys)
        let coefficients = weighting.coefficients(examples: clients.map { examples[$0] ?? 0 }, steps: clients.map { steps[$0] ?? 1 })
        weights = Dictionary(uniqueKeysWithValues: zip(clients, coefficients.map { Float($0) }))
    }

    /// What turns the sum over `counted` (each scaled by its coefficient over all the round's
    /// clients) into their mean: the ratio of a counted client's coefficient over `counted`
    /// to its coefficient over all, the same for every one of them (FedAvg: N / N_S; FedNova:
    /// (A_S / N_S^2) / (A / N^2), A = sum n_i tau_i, or the ratio of the capped scales).
    /// 1 when nothing is counted.
    public func rescale(counted: [String]) -> Float {
        guard let first = counted.first, let planned = weights[first], planned > 0 else { return 1 }
        let over = weighting.coefficients(examples: counted.map { examples[$0] ?? 0 }, steps: counted.map { steps[$0] ?? 1 })
        return Float(over[0] / Double(planned))
    }

    /// The session of sum `sum` (see `SecurePlan.session`).
    public func session(sum: Int) -> UInt64 { SecurePlan.session(session, sum: sum) }
}
