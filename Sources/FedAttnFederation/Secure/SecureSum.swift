package import FedAttnAggregation
package import FedAttnCore
import FedAttnModel
package import FedAttnSecAgg

/// Secure aggregation (SecAgg+, Bonawitz et al., CCS 2017; Bell et al., CCS 2020): no update
/// is uploaded whole; each round's is masked through the secure phases (`SecureRound`), and
/// only their sum is unmasked, into the round's mean step, which the strategy takes as one
/// update weighted as all its clients. Keeps the item rows some silo has trained so far (only
/// ever grows; the owner stores them), so that a round announces only rows new to everyone.
package struct SecureSum: RoundSum {
    package let settings: SecureAggregationSettings
    /// The rows trained so far.
    package private(set) var known: RowSet
    /// The secure round under way: keys, shares and masked sums, in memory only, dropped once
    /// its step is taken.
    private var underWay: SecureRound?
    private var accumulator: UpdateAccumulator?

    package init(settings: SecureAggregationSettings, known: RowSet) {
        self.settings = settings
        self.known = known
    }

    package var label: String { " + secure aggregation (SecAgg+)" }

    /// From the system's cryptographic generator, before every event but a model piece served
    /// (that starts no round, and runs for every piece).
    package func entropy(before event: RoundEvent) -> UInt64? { event.isDownload ? nil : UInt64.random(in: .min ... .max) }

    package mutating func begin(layout: ParameterLayout, keepingUpdates: Bool, weighting: UpdateAccumulator.Weighting) {
        accumulator = UpdateAccumulator(
            layout: layout, tables: [AttentionModel.TensorName.items], keepingUpdates: keepingUpdates, weighting: weighting)
    }

    // The machine accepts no upload under secure aggregation.
    package mutating func fold(_ update: ClientUpdate) {}

    private func current(_ number: Int, _ attempt: Int, _ phase: SecurePhase, _ client: String) throws(CoordinatorError) -> SecureRound {
        guard let round = underWay, round.plan.round == number, round.plan.attempt == attempt else {
            throw .staleUpdate("\(phase) from '\(client)' for round \(number) attempt \(attempt): not the secure round under way")
        }
        return round
    }

    package func expectedMasked(round number: Int, attempt: Int, phase: SecurePhase, client: String) throws(CoordinatorError) -> (
        count: Int, bits: Int
    )? {
        try current(number, attempt, phase, client).expectedMasked(phase)
    }

    package func checkSecure(_ reply: inout SecureReply, from client: String) throws(CoordinatorError) {
        let secure = try current(reply.round, reply.attempt, reply.phase, client)
        if let u = reply.unmasking, let id = secure.plan.ids[client] {
            reply.unmasking = UnmaskingShares(client: id, selfMaskShares: u.selfMaskShares, maskingKeyShares: u.maskingKeyShares)
        }
        try secure.check(reply, from: client)
    }

    package func secureTask(_ step: SecureTask, for client: String) -> SecureTask? { underWay?.fill(step, for: client) }

    package mutating func beginSecure(_ plan: SecureRoundPlan, layout: ParameterLayout, carriesCounts: Bool) {
        underWay = SecureRound(plan: plan, layout: layout, settings: settings, known: known, carriesCounts: carriesCounts)
    }

    package mutating func foldSecure(_ reply: SecureReply, from client: String) throws(SecAggError) {
        try underWay?.fold(reply, from: client)
    }

    package mutating func closeSecure(_ phase: SecurePhase) throws(SecAggError) -> UnmaskedIndicators? {
        let counts: SummedCounts?
        do {
            counts = try underWay?.close(phase)
        } catch {
            underWay = nil  // the round fails; a retry plans a new one
            throw error
        }
        guard phase == .unmaskIndicators, let learnt = underWay?.known else { return nil }
        let new = learnt.count - known.count
        known = learnt
        return UnmaskedIndicators(known: learnt, new: new, counts: counts)
    }

    /// The unmasked values' sum as the round's one update: the mean step, weighted as all its clients.
    package mutating func take(_ outcome: RoundOutcome) throws(SecAggError) -> UpdateAccumulator? {
        guard var secure = underWay.take() else { throw SecAggError.protocolViolation("no secure round under way") }
        let step = try secure.step()
        accumulator?.add(ClientUpdate(client: "secure sum of \(outcome.participants.count)", exampleCount: max(outcome.examples, 1), delta: step))
        return accumulator.take()
    }

    /// Not retried: a second sum of the same updates over other silos would tell their difference.
    package var retriesWhenNothingPublished: Bool { false }
}
