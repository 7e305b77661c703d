import FedAttnAggregation
import FedAttnCore
import FedAttnSecAgg
import Logging

/// A secure round's phases (issue 13): training ends with each client's keys; then share
/// keys, masked indicators, unmask them, masked values, unmask them. Each phase waits for
/// the clients that answered the one before, until its deadline; fewer answers than the
/// threshold (or the quorum) retry the round, as a round without quorum is.
extension RoundStateMachine {
    /// The round's ids (a random order), graph, weights and session, drawn from `entropy`
    /// (fresh randomness the owner supplies: the machine draws none itself).
    func planSecureRound(_ round: Int, _ clients: [String], _ settings: SecureAggregationSettings) -> SecureRoundPlan {
        var random = SeededGenerator(seed: entropy)
        let ordered = clients.sorted { (members[$0]?.order ?? 0) < (members[$1]?.order ?? 0) }.shuffled(using: &random)
        let ids = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1, $0) })
        let graph = NeighbourGraph(clients: Array(0..<ordered.count), k: settings.neighbourCount(clients: ordered.count), seed: random.next())
        // Each silo scales its own values by its coefficient in the mean (FedAvg's or FedNova's).
        let examples = Dictionary(uniqueKeysWithValues: ordered.map { ($0, members[$0]?.trainExamples ?? 0) })
        return SecureRoundPlan(
            round: round, attempt: retries.count + 1, session: random.next() >> 1, ids: ids, graph: graph,
            threshold: settings.threshold(clients: ordered.count), weighting: config.server.weighting, examples: examples,
            steps: examples.mapValues { config.localSteps(examples: $0) })
    }

    /// The fewest answers a secure phase may close with: the threshold, the quorum, and 3 (with
    /// two in a sum, each could subtract its own input and read the other's).
    private func needed(_ plan: SecureRoundPlan) -> Int { max(config.quorum, plan.threshold, 3) }

    /// Training is over (all keys in, or the deadline): on to sharing keys among those that sent theirs.
    mutating func closeSecureTraining(_ t: Training, _ plan: SecureRoundPlan, _ now: Duration, _ actions: inout [RoundAction]) {
        guard t.received.count >= needed(plan) else {
            retry(
                t.round,
                "round \(t.round): \(t.received.count) of \(t.selected.count) clients sent their keys, \(needed(plan)) needed (secure aggregation)",
                now, &actions)
            return
        }
        actions.append(.log(.info, "round \(t.round): \(t.received.count) of \(t.selected.count) clients trained; secure aggregation under way"))
        moveOn(t, plan, from: .advertise, expected: t.selected, answered: t.received, now, &actions)
    }

    /// Closes the current secure phase when every client it waits for has answered (or left),
    /// or at its deadline.
    mutating func advanceSecure(_ s: Securing, _ now: Duration, _ actions: inout [RoundAction]) {
        let outstanding = s.expected.subtracting(s.received).filter { members[$0]?.connection != nil }
        guard outstanding.isEmpty || now >= s.deadline else { return }
        let round = s.training.round
        guard s.received.count >= needed(s.plan) else {
            let missing = s.expected.subtracting(s.received)
            retry(
                round,
                "round \(round): secure aggregation's \(s.phase) phase heard \(s.received.count) of \(s.expected.count) clients, \(needed(s.plan)) needed"
                    + (missing.isEmpty ? "" : " (missing: \(Self.names(missing)))"), now, &actions)
            return
        }
        if s.received.count < s.expected.count {
            actions.append(
                .log(
                    .notice,
                    "round \(round): \(s.phase) closed with \(s.received.count) of \(s.expected.count) clients (dropped: \(Self.names(s.expected.subtracting(s.received))))"
                ))
        }
        moveOn(s.training, s.plan, from: s.phase, expected: s.expected, answered: s.received, now, &actions)
    }

    /// From phase `closed` (which waited for `expected`, answered by `answered`) to the next
    /// one, or to aggregation after the values are unmasked.
    private mutating func moveOn(
        _ training: Training, _ plan: SecureRoundPlan, from closed: SecurePhase, expected: Set<String>, answered: Set<String>, _ now: Duration,
        _ actions: inout [RoundAction]
    ) {
        generation += 1
        guard let next = SecurePhase(rawValue: closed.rawValue + 1) else {
            // The values' unmasking shares are in: the sum is of every client whose masked values
            // arrived (those unmasking waited for), whether or not it answered since.
            let summed = training.participants.filter { expected.contains($0) }
            let examples = summed.reduce(0) { $0 + (members[$1]?.trainExamples ?? 0) }
            let outcome = RoundOutcome(
                round: training.round, participants: summed, examples: examples,
                bytesUpPerClient: training.participants.isEmpty ? 0 : training.bytesUp / training.participants.count,
                trainSecondsMax: training.trainSecondsMax, dpSamplingRate: training.dpSamplingRate)
            actions.append(
                .log(.info, "round \(training.round): unmasking the sum of \(summed.count) of \(training.selected.count) clients' updates"))
            phase = .publishing(Publishing(outcome: outcome))
            actions.append(.aggregate(outcome))
            return
        }
        // Each phase waits for those that answered the one before (unmasking: those whose masked input is in).
        let deadline = now + collection.phaseTimeout(roundTimeout: config.roundTimeout)
        phase = .securing(Securing(training: training, plan: plan, phase: next, expected: answered, deadline: deadline))
        actions.append(.secureClose(round: training.round, phase: closed, answered: answered))
    }
}
