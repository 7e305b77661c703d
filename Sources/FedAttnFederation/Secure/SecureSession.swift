import FedAttnCodec
import FedAttnCore
import FedAttnModel
import FedAttnSecAgg
import Foundation

/// A client's side of one secure round: its update, kept from training to the values phase,
/// and one SecAgg+ client per sum (indicators, values), each with its own keys and secrets.
/// Only masked vectors, public keys, encrypted shares and the unmasking shares the protocol
/// allows leave it. Its item counts go, masked, into the indicator sum when the task says the
/// round carries them (protocol 11).
struct SecureSession {
    let round: Int
    let plan: SecurePlan
    private let update: SparseWeights
    /// The silo's train rows per item, for an indicator sum that carries counts (made dense
    /// only then); nil: it declines (zeros and a shared flag of 0).
    private let counts: PopularityCounts?
    private let codec: SecureUpdateCodec
    private let clients: [SecAggClient]
    /// Whether its counts went into this round's indicator sum (a task that carried them).
    private(set) var sentCounts = false
    /// The values sum's shares, received with the indicators' and used in the values phase.
    private var valueShares: [EncryptedShare] = []
    /// Stochastic rounding and the indicators' random values need fast draws, not secret ones
    /// (only sums are ever seen).
    private var draws: SeededGenerator

    /// - Throws: `SecAggError.protocolViolation` when the plan cannot be followed (an id or
    ///   neighbour outside the round, a threshold over the neighbours).
    /// `draws`: where the indicators' values and the rounding come from (fresh system
    /// randomness; a test fixes it, so that its round's indicators cannot cancel by chance).
    /// `popularity`: the counts it sums securely when asked (nil: it declines).
    init(
        round: Int, plan: SecurePlan, update: SparseWeights, popularity: PopularityCounts? = nil, draws: SeededGenerator = .fromSystemRandom()
    ) throws(SecAggError) {
        guard plan.clients >= 2, (0..<plan.clients).contains(plan.id),
            plan.neighbours.allSatisfy({ (0..<plan.clients).contains($0) && $0 != plan.id }),
            plan.threshold >= 1, plan.threshold <= plan.neighbours.count, (8...24).contains(plan.bits), plan.clip > 0, plan.clip.isFinite,
            plan.weight >= 0, plan.weight <= 1
        else { throw .protocolViolation("round \(round): the coordinator's secure plan does not hold together (id \(plan.id) of \(plan.clients))") }
        self.round = round
        self.plan = plan
        self.update = update
        self.draws = draws
        codec = SecureUpdateCodec(layout: update.layout, quantizer: RingQuantizer(clip: plan.clip, bits: plan.bits))
        counts = popularity
        clients = (0..<2).map { sum in
            SecAggClient(
                id: plan.id, round: SecurePlan.session(plan.session, sum: sum), threshold: plan.threshold,
                neighbours: plan.neighbours)
        }
    }

    /// Training's end: both sums' public keys, with what the round records of the update.
    func advertise(baseVersion: String, examples: Int, trainSeconds: Double) -> SecureReply {
        var reply = SecureReply(round: round, attempt: plan.attempt, phase: .advertise)
        reply.baseVersion = baseVersion
        reply.examples = examples
        reply.trainSeconds = trainSeconds
        reply.keys = clients.map { $0.advertise() }
        return reply
    }

    /// The answer to a phase after training.
    mutating func answer(_ task: SecureTask) throws(SecAggError) -> SecureReply {
        guard task.round == round, task.attempt == plan.attempt else {
            throw .protocolViolation("a task for round \(task.round) attempt \(task.attempt), in round \(round) attempt \(plan.attempt)")
        }
        var reply = SecureReply(round: round, attempt: plan.attempt, phase: task.phase)
        switch task.phase {
        case .advertise: throw .protocolViolation("keys are sent once, at the end of training")
        case .shareKeys:
            guard task.peerKeys.count == 2 else { throw .protocolViolation("keys for both sums expected") }
            reply.shares = try (0..<2).map { sum throws(SecAggError) in try clients[sum].shareKeys(task.peerKeys[sum]) }
        case .maskIndicators:
            guard task.shares.count == 2 else { throw .protocolViolation("shares for both sums expected") }
            guard let known = task.rows, known.rows == codec.tableRows else { throw .protocolViolation("the rows known so far are missing") }
            valueShares = task.shares[1]
            let marks = codec.indicators(update, known: known, using: &draws)
            if task.carriesPopularityCounts {
                // Its counts (or zeros, declining) and its shared flag after the marks, all mod 2^32.
                let dense = counts.map { Self.dense($0, rows: codec.tableRows) }
                let vector = CountedIndicators(rows: codec.tableRows).encode(indicators: marks, counts: dense)
                reply.masked = try clients[0].maskInput(vector, shares: task.shares[0], modulusBits: CountedIndicators.bits).values
                reply.maskedBits = CountedIndicators.bits
                sentCounts = counts != nil
            } else {
                reply.masked = try clients[0].maskInput(marks, shares: task.shares[0], modulusBits: RowIndicators.bits).values
                reply.maskedBits = RowIndicators.bits
            }
        case .maskValues:
            guard let rows = task.rows, rows.rows == codec.tableRows else { throw .protocolViolation("the rows of the values are missing") }
            let values = codec.values(update, rows: rows.sorted, weight: plan.weight, using: &draws)
            let bits = codec.quantizer.ringBits(clients: plan.clients)
            reply.masked = try clients[1].maskInput(values, shares: valueShares, modulusBits: bits).values
            reply.maskedBits = bits
        case .unmaskIndicators, .unmaskValues:
            // With two in a sum, each could subtract its own input and read the other's.
            guard Set(task.survivors).count >= 3 else {
                throw .tooFewSurvivors("round \(round): \(task.survivors.count) clients in the sum; 3 or more needed to unmask")
            }
            reply.unmasking = try clients[task.phase == .unmaskIndicators ? 0 : 1].unmask(survivors: Set(task.survivors))
        }
        return reply
    }

    /// `counts` as one count per item row of a table of `rows` rows (items outside 1..<rows
    /// left out; a count over 2^32 - 1, which no silo of a round that carries counts can have,
    /// held at that).
    static func dense(_ counts: PopularityCounts, rows: Int) -> [UInt32] {
        var dense = [UInt32](repeating: 0, count: rows)
        for (item, count) in zip(counts.items, counts.counts) where item > 0 && Int(item) < rows { dense[Int(item)] = UInt32(clamping: count) }
        return dense
    }

    /// An answer saying this client cannot go on in the phase of `task` (the round stops waiting for it).
    static func abort(_ task: SecureTask, because reason: String) -> SecureReply {
        var reply = SecureReply(round: task.round, attempt: task.attempt, phase: task.phase)
        reply.abort = reason
        return reply
    }
}
