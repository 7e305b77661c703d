import FedAttnAggregation
public import FedAttnPrivacy

/// A silo asked to train one round attempt with example-level DP-SGD, and what that spends:
/// a row of the state folder's privacy ledger, written before the silo is given the task.
public struct PrivacyCharge: Sendable, Equatable {
    public let client: String
    public let round: Int
    public let attempt: Int
    /// The training examples the silo declared then (its q, its steps and its delta).
    public let examples: Int
    public let spend: PrivacySpend

    public init(client: String, round: Int, attempt: Int, examples: Int, spend: PrivacySpend) {
        self.client = client
        self.round = round
        self.attempt = attempt
        self.examples = examples
        self.spend = spend
    }
}

extension PrivacyCharge {
    /// Per silo: the round attempts charged, its latest declared size, and the epsilon spent
    /// (at `delta`, or 1 / that size): what `history` shows of a state folder's ledger.
    public static func spentPerSilo(_ charges: [PrivacyCharge], delta: Double? = nil) -> [String: (rounds: Int, examples: Int, epsilon: Double)] {
        Dictionary(grouping: charges, by: \.client).mapValues { own in
            let examples = own.last!.examples
            return (
                own.count, examples,
                PrivacySpend.epsilon(of: own.map(\.spend), delta: delta ?? PrivacySpend.defaultExampleDelta(examples: examples))
            )
        }
    }
}

/// What a federation's rounds have spent of the silos' privacy, for the round state machine.
///
/// Example level: every round attempt a silo is asked to train is charged when the task is
/// handed out (conservative: an update the coordinator then refused, or a retried round,
/// still told it something), with the silo's own q, noise multiplier and steps, and kept in
/// the state folder, so that a restart or a silo re-joining with other data re-prices nothing.
/// Client level (DP-FedAvg): each published round's sampling rate.
package struct PrivacyBook: Sendable {
    package private(set) var charges: [String: [PrivacyCharge]] = [:]
    package private(set) var clientRates: [Double] = []

    /// From a state folder: its privacy ledger, and the records of the rounds published (a
    /// DP-FedAvg round stored before sampling rates were, q = 1: the most it can have spent).
    package init(charges: [PrivacyCharge] = [], history: [RoundRecord] = []) {
        for charge in charges { self.charges[charge.client, default: []].append(charge) }
        clientRates = history.compactMap { $0.dpSamplingRate ?? ($0.epsilon != nil ? 1 : nil) }
    }

    package mutating func charge(_ charge: PrivacyCharge) { charges[charge.client, default: []].append(charge) }
    package mutating func recordClientLevelRound(samplingRate: Double) { clientRates.append(samplingRate) }

    /// The epsilon `client` has spent, plus `extra` (at the delta of its latest declared size).
    package func exampleEpsilon(of client: String, adding extra: PrivacyCharge? = nil, privacy: ExamplePrivacy) -> Double? {
        let all = (charges[client] ?? []) + (extra.map { [$0] } ?? [])
        guard let latest = all.last else { return nil }
        return PrivacySpend.epsilon(of: all.map(\.spend), delta: privacy.delta(examples: latest.examples))
    }

    /// The most epsilon any silo has spent.
    package func largestExampleEpsilon(privacy: ExamplePrivacy) -> Double? {
        charges.keys.compactMap { exampleEpsilon(of: $0, privacy: privacy) }.max()
    }

    /// What asking a silo of `examples` examples at `noiseMultiplier` to train round `round`
    /// (attempt `attempt`) charges it.
    package static func charge(
        _ client: String, examples: Int, noiseMultiplier: Double, round: Int, attempt: Int, privacy: ExamplePrivacy, config: CoordinatorConfig
    ) -> PrivacyCharge {
        PrivacyCharge(
            client: client, round: round, attempt: attempt, examples: examples,
            spend: privacy.spend(examples: examples, plan: config.plan, noiseMultiplier: noiseMultiplier))
    }

    /// Whether one more round keeps `client` within the example-level budget (always, without one).
    package func withinBudget(_ charge: PrivacyCharge, privacy: ExamplePrivacy) -> Bool {
        guard let budget = privacy.budget else { return true }
        return (exampleEpsilon(of: charge.client, adding: charge, privacy: privacy) ?? .infinity) <= budget * (1 + 1e-9)
    }

    /// DP-FedAvg's epsilon per silo after the rounds recorded, plus one at `next` if given.
    package func clientEpsilon(_ config: CoordinatorConfig, adding next: Double? = nil) -> Double? {
        config.privacySpent(samplingRates: clientRates + (next.map { [$0] } ?? []))
    }
}
