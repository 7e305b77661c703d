import CoreMetrics
import FedAttnSecAgg
import Logging

// The glue to a secure round (`SecureRound`): what a phase may carry, and each answer checked
// and handed to the machine.
extension Coordinator {
    /// The masked vector `client` may send for `phase` now (its length and its elements' bits),
    /// checked before a byte of it is read; nil for a phase without one.
    public func expectedMasked(client: String, round: Int, attempt: Int, phase: SecurePhase) throws(CoordinatorError) -> (count: Int, bits: Int)? {
        try machine.checkSecureWanted(client: client, round: round, attempt: attempt, phase: phase)
        return try sum.expectedMasked(round: round, attempt: attempt, phase: phase, client: client)
    }

    /// Logs and stores the rows trained so far (`SecureSum` keeps them), grown by a round's new ones:
    /// a coordinator restarted with fewer would have silos announce rows again, over another
    /// set of silos, and the two announcements would tell apart the silos between them.
    func learnRows(_ known: RowSet, new: Int, round: Int) {
        logger.info("round \(round): \(new) item rows trained for the first time; \(known.count) so far")
        guard new > 0 else { return }
        write(.knownRows(known.data, round: round))
    }

    /// Takes one client's answer to a phase of a secure round: checked against what the round
    /// waits for from it (round, attempt, phase) and against the round's graph and sizes, then
    /// kept for the phase's step. `bytes`: its size on the wire.
    public func submitSecure(client: String, reply: SecureReply, bytes: Int) throws(CoordinatorError) {
        try machine.checkSecureWanted(client: client, round: reply.round, attempt: reply.attempt, phase: reply.phase)
        var reply = reply
        try sum.checkSecure(&reply, from: client)
        let arrival = SecureArrival(
            client: client, round: reply.round, attempt: reply.attempt, phase: reply.phase, bytes: bytes, baseVersion: reply.baseVersion,
            examples: reply.examples, trainSeconds: reply.trainSeconds, abort: reply.abort)
        try handle(.secure(arrival), secureReply: reply)
        metrics.bytesUp.increment(by: bytes)
        if reply.phase == .advertise && reply.abort == nil { metrics.updates.increment() }
    }
}
