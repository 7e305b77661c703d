import FedAttnCodec
import FedAttnCore
import FedAttnModel
import FedAttnSecAgg
import Foundation

/// A client's side of one secure round: its update, kept from training to the values phase,
/// and one SecAgg+ client per sum (indicators, values), each with its own keys and secrets.
/// Only masked vectors, public keys, encrypted shares and the unmasking shares the protocol
/// allows leave it.
struct SecureSession {
    let round: Int
    let plan: SecurePlan
    private let update: SparseWeights
    private let codec: SecureUpdateCodec
    private let clients: [SecAggClient]
    /// The values sum's shares, received with the indicators' and used in the values phase.
    private var valueShares: [EncryptedShare] = []

    /// - Throws: `SecAggError.protocolViolation` when the plan cannot be followed (an id or
    ///   neighbour outside the round, a threshold over the neighbours).
    init(round: Int, plan: SecurePlan, update: SparseWeights) throws(SecAggError) {
        guard plan.clients >= 2, (0..<plan.clients).contains(plan.id),
            plan.neighbours.allSatisfy({ (0..<plan.clients).contains($0) && $0 != plan.id }),
            plan.threshold >= 1, plan.threshold <= plan.neighbours.count, (8...24).contains(plan.bits), plan.clip > 0, plan.clip.isFinite,
            plan.weight >= 0, plan.weight <= 1
        else { throw .protocolViolation("round \(round): the coordinator's secure plan does not hold together (id \(plan.id) of \(plan.clients))") }
        self.round = round
        self.plan = plan
        self.update = update
        codec = SecureUpdateCodec(layout: update.layout, quantizer: RingQuantizer(clip: plan.clip, bits: plan.bits))
        clients = (0..<2).map { sum in
            SecAggClient(
                id: plan.id, round: SecurePlan.session(round: round, attempt: plan.attempt, sum: sum), threshold: plan.threshold,
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
            valueShares = task.shares[1]
            reply.masked = try clients[0].maskInput(codec.indicators(update, clients: plan.clients), shares: task.shares[0]).values
        case .maskValues:
            let rows = update.layout.tensors[0].shape[0]
            guard zip(task.union, task.union.dropFirst()).allSatisfy({ $0 < $1 }), task.union.allSatisfy({ $0 >= 0 && Int($0) < rows }) else {
                throw .protocolViolation("the union of rows is not ascending within the table's \(rows) rows")
            }
            // Stochastic rounding needs fast draws, not secret ones (only the sum is ever seen):
            // xoshiro from a system-random state, not a system call per value.
            var system = SystemRandomNumberGenerator()
            var state = (system.next(), system.next(), system.next(), system.next())
            while state == (0, 0, 0, 0) { state.0 = system.next() }
            var generator = SeededGenerator(state: state)
            let values = codec.values(update, union: task.union, rowWeight: plan.weight, denseWeight: plan.weight, using: &generator)
            let bits = codec.quantizer.ringBits(clients: plan.clients)
            reply.masked = try clients[1].maskInput(values, shares: valueShares, modulusBits: bits).values
            reply.maskedBits = bits
        case .unmaskIndicators, .unmaskValues:
            reply.unmasking = try clients[task.phase == .unmaskIndicators ? 0 : 1].unmask(survivors: Set(task.survivors))
        }
        return reply
    }

    /// The update as a client's work encoded it, decoded for the secure sums.
    static func decode(_ payload: Data, model: ModelConfig) throws -> SparseWeights {
        let layout = AttentionModel.layout(for: model)
        return try TensorPayload.decode(payload, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout))
    }
}
