import FedAttnAggregation
import FedAttnCore
import FedAttnModel
import FedAttnSecAgg

/// How a round's updates reach the sum its strategy aggregates: a policy the coordinator is
/// given at start (`PlainSum`, or `SecureSum` under secure aggregation), so that the actor
/// asks it instead of testing the setting. It holds the round's running sum.
protocol RoundSum: Sendable {
    /// What the strategy's name gains in logs and reports ("" or " + secure aggregation (SecAgg+)").
    var label: String { get }
    /// Fresh randomness the machine needs before `event` (a secure round's ids, graph and
    /// session come from the owner: the machine draws none); nil when it needs none.
    func entropy(before event: RoundEvent) -> UInt64?
    /// A round attempt begins: a fresh running sum of `layout`.
    mutating func begin(layout: ParameterLayout, keepingUpdates: Bool, weighting: UpdateAccumulator.Weighting)
    /// Adds an update the machine accepted (uploaded whole), in place.
    mutating func fold(_ update: ClientUpdate)
    /// The secure round `round` attempt `attempt` under way, which an answer for `phase` from
    /// `client` is checked against. - Throws: `.staleUpdate` when it is not the one under way.
    func secureRound(round: Int, attempt: Int, phase: SecurePhase, client: String) throws(CoordinatorError) -> SecureRound
    /// What a client's task for secure phase `step` carries (nil: nothing yet; it waits).
    func secureTask(_ step: SecureTask, for client: String) -> SecureTask?
    /// The machine planned a secure round: it begins.
    mutating func beginSecure(_ plan: SecureRoundPlan, layout: ParameterLayout)
    /// Keeps an answer of the secure round the machine accepted.
    mutating func foldSecure(_ reply: SecureReply, from client: String) throws(SecAggError)
    /// Takes the step of a secure phase that closed; after the indicators, the rows now known
    /// and how many are new. - Throws: the secure round is dropped; the round fails.
    mutating func closeSecure(_ phase: SecurePhase) throws(SecAggError) -> (known: RowSet, new: Int)?
    /// The round's sum for the strategy, taken (the owner holds its only reference): the
    /// updates folded, or the secure sum unmasked into the mean step; nil when there is none.
    mutating func take(_ outcome: RoundOutcome) throws(SecAggError) -> UpdateAccumulator?
    /// Whether a round whose strategy published nothing is tried again; if not, it ends with
    /// the model as it was.
    var retriesWhenNothingPublished: Bool { get }
}

/// Updates uploaded whole, each folded into the running sum as it is accepted.
struct PlainSum: RoundSum {
    private var accumulator: UpdateAccumulator?

    var label: String { "" }
    func entropy(before event: RoundEvent) -> UInt64? { nil }
    mutating func begin(layout: ParameterLayout, keepingUpdates: Bool, weighting: UpdateAccumulator.Weighting) {
        accumulator = UpdateAccumulator(
            layout: layout, tables: [AttentionModel.TensorName.items], keepingUpdates: keepingUpdates, weighting: weighting)
    }
    mutating func fold(_ update: ClientUpdate) {
        // In place: the sum's only reference (no 4-byte-a-parameter copy).
        accumulator?.add(update)
    }
    func secureRound(round: Int, attempt: Int, phase: SecurePhase, client: String) throws(CoordinatorError) -> SecureRound {
        throw .invalidRequest("\(phase) from '\(client)': this federation runs no secure aggregation")
    }
    func secureTask(_ step: SecureTask, for client: String) -> SecureTask? { nil }
    // The machine plans no secure round without secure aggregation.
    mutating func beginSecure(_ plan: SecureRoundPlan, layout: ParameterLayout) {}
    mutating func foldSecure(_ reply: SecureReply, from client: String) throws(SecAggError) {}
    mutating func closeSecure(_ phase: SecurePhase) throws(SecAggError) -> (known: RowSet, new: Int)? { nil }
    mutating func take(_ outcome: RoundOutcome) throws(SecAggError) -> UpdateAccumulator? { accumulator.take() }
    var retriesWhenNothingPublished: Bool { true }
}

extension Optional {
    /// The value, leaving nil behind (so the caller holds its only reference).
    mutating func take() -> Wrapped? {
        defer { self = nil }
        return self
    }
}
