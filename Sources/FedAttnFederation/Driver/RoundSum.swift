package import FedAttnAggregation
package import FedAttnCore
import FedAttnModel
package import FedAttnSecAgg

/// How a round's updates reach the sum its strategy aggregates: a policy the coordinator is
/// given at start (`PlainSum`, or `SecureSum` under secure aggregation), so that the actor
/// asks it instead of testing the setting. It holds the round's running sum.
package protocol RoundSum: Sendable {
    /// What the strategy's name gains in logs and reports ("" or " + secure aggregation (SecAgg+)").
    var label: String { get }
    /// Fresh randomness the machine needs before `event` (a secure round's ids, graph and
    /// session come from the owner: the machine draws none); nil when it needs none.
    func entropy(before event: RoundEvent) -> UInt64?
    /// A round attempt begins: a fresh running sum of `layout`.
    mutating func begin(layout: ParameterLayout, keepingUpdates: Bool, weighting: UpdateAccumulator.Weighting)
    /// Adds an update the machine accepted (uploaded whole), in place.
    mutating func fold(_ update: ClientUpdate)
    /// The masked vector `client` may send for `phase` of round `round` attempt `attempt`
    /// (its length and its elements' bits; nil for a phase without one).
    /// - Throws: `.staleUpdate` when that is not the secure round under way.
    func expectedMasked(round: Int, attempt: Int, phase: SecurePhase, client: String) throws(CoordinatorError) -> (count: Int, bits: Int)?
    /// Checks `client`'s answer against the secure round under way (its graph and sizes), and
    /// names the sender's id in its unmasking shares from its identity (the wire does not).
    /// - Throws: `.staleUpdate` (not the round under way), `.invalidUpdate` (it does not fit).
    func checkSecure(_ reply: inout SecureReply, from client: String) throws(CoordinatorError)
    /// What a client's task for secure phase `step` carries (nil: nothing yet; it waits).
    func secureTask(_ step: SecureTask, for client: String) -> SecureTask?
    /// The machine planned a secure round: it begins; its indicator sum also carries the
    /// silos' item counts when `carriesCounts` (the owner's pool decides: `PopularityPool`).
    mutating func beginSecure(_ plan: SecureRoundPlan, layout: ParameterLayout, carriesCounts: Bool)
    /// Keeps an answer of the secure round the machine accepted.
    mutating func foldSecure(_ reply: SecureReply, from client: String) throws(SecAggError)
    /// Takes the step of a secure phase that closed; after the indicators, the rows now known,
    /// how many are new, and the silos' summed item counts when the round carried them.
    /// - Throws: the secure round is dropped; the round fails.
    mutating func closeSecure(_ phase: SecurePhase) throws(SecAggError) -> UnmaskedIndicators?
    /// The round's sum for the strategy, taken (the owner holds its only reference): the
    /// updates folded, or the secure sum unmasked into the mean step; nil when there is none.
    mutating func take(_ outcome: RoundOutcome) throws(SecAggError) -> UpdateAccumulator?
    /// Whether a round whose strategy published nothing is tried again; if not, it ends with
    /// the model as it was.
    var retriesWhenNothingPublished: Bool { get }
}

/// Updates uploaded whole, each folded into the running sum as it is accepted.
package struct PlainSum: RoundSum {
    private var accumulator: UpdateAccumulator?

    package init() {}

    package var label: String { "" }
    package func entropy(before event: RoundEvent) -> UInt64? { nil }
    package mutating func begin(layout: ParameterLayout, keepingUpdates: Bool, weighting: UpdateAccumulator.Weighting) {
        accumulator = UpdateAccumulator(
            layout: layout, tables: [AttentionModel.TensorName.items], keepingUpdates: keepingUpdates, weighting: weighting)
    }
    package mutating func fold(_ update: ClientUpdate) {
        // In place: the sum's only reference (no 4-byte-a-parameter copy).
        accumulator?.add(update)
    }
    package func expectedMasked(round: Int, attempt: Int, phase: SecurePhase, client: String) throws(CoordinatorError) -> (count: Int, bits: Int)? {
        throw UploadedUpdates.noSecureAggregation(client)
    }
    package func checkSecure(_ reply: inout SecureReply, from client: String) throws(CoordinatorError) {
        throw UploadedUpdates.noSecureAggregation(client)
    }
    package func secureTask(_ step: SecureTask, for client: String) -> SecureTask? { nil }
    // The machine plans no secure round without secure aggregation.
    package mutating func beginSecure(_ plan: SecureRoundPlan, layout: ParameterLayout, carriesCounts: Bool) {}
    package mutating func foldSecure(_ reply: SecureReply, from client: String) throws(SecAggError) {}
    package mutating func closeSecure(_ phase: SecurePhase) throws(SecAggError) -> UnmaskedIndicators? { nil }
    package mutating func take(_ outcome: RoundOutcome) throws(SecAggError) -> UpdateAccumulator? { accumulator.take() }
    package var retriesWhenNothingPublished: Bool { true }
}
