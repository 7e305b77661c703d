/// How the round state machine applies example-level privacy: a value it is given at start
/// (`RoundStateMachine.init` picks `DPSGDPolicy` when the configuration has `examplePrivacy`,
/// else `NoExamplePrivacy`), so that the machine asks the policy instead of testing a setting.
/// Every method is pure: the machine keeps the state (each member's noise multiplier, the
/// `PrivacyBook`) and hands it in.
package protocol ExamplePrivacyPolicy: Sendable {
    /// The noise multiplier a silo that declared `examples` training examples trains with
    /// (nil: none, or none keeps the target), and a warning to log when it will not be asked
    /// to train. `declared` is false for a silo whose size reads as the largest allowed
    /// (`maxTrainExamples`: it declared none, or exactly that), which would get the least noise.
    func noise(examples: Int, declared: Bool, client: String, config: CoordinatorConfig) -> (noise: Double?, warning: String?)
    /// `plan` as a silo of noise multiplier `noise` trains it; nil: it is not given the task.
    func plan(_ plan: LocalTrainingPlan, noise: Double?) -> LocalTrainingPlan?
    /// What asking a silo to train attempt `attempt` of round `round` charges it (nil: nothing).
    func charge(
        _ client: String, examples: Int, noise: Double?, round: Int, attempt: Int, config: CoordinatorConfig
    ) -> PrivacyCharge?
    /// Whether a silo whose next charge is `next` may be asked to train, given what `book` holds.
    func mayTrain(next: PrivacyCharge?, book: PrivacyBook) -> Bool
    /// The most epsilon a silo has spent, for the round's record (nil: not accounted).
    func largestEpsilon(_ book: PrivacyBook) -> Double?
    /// Why the run ends before `round` (nil: it goes on): too few silos can still train within
    /// their budget. `mayTrain(client)` answers for one silo; `eligible` are those connected
    /// that may.
    func budgetStop(
        before round: Int, members: [String: RoundStateMachine.Member], eligible: [String], minClients: Int,
        mayTrain: (String) -> Bool
    ) -> String?
}

/// No example-level privacy: every silo trains the plan as it is, and nothing is charged.
package struct NoExamplePrivacy: ExamplePrivacyPolicy {
    package init() {}

    package func noise(examples: Int, declared: Bool, client: String, config: CoordinatorConfig) -> (noise: Double?, warning: String?) { (nil, nil) }
    package func plan(_ plan: LocalTrainingPlan, noise: Double?) -> LocalTrainingPlan? { plan }
    package func charge(_ client: String, examples: Int, noise: Double?, round: Int, attempt: Int, config: CoordinatorConfig) -> PrivacyCharge? {
        nil
    }
    package func mayTrain(next: PrivacyCharge?, book: PrivacyBook) -> Bool { true }
    package func largestEpsilon(_ book: PrivacyBook) -> Double? { nil }
    package func budgetStop(
        before round: Int, members: [String: RoundStateMachine.Member], eligible: [String], minClients: Int,
        mayTrain: (String) -> Bool
    ) -> String? { nil }
}

/// Example-level DP-SGD in every silo (Abadi et al., "Deep Learning with Differential
/// Privacy", CCS 2016; `ExamplePrivacy` says how a federation runs it): each silo gets the
/// noise multiplier its declared size calls for, is charged a round attempt each time it is
/// asked to train one (retries included), and is no longer asked once its next round would
/// pass the budget; the run ends when too few silos can train.
package struct DPSGDPolicy: ExamplePrivacyPolicy {
    package let privacy: ExamplePrivacy

    package init(privacy: ExamplePrivacy) { self.privacy = privacy }

    package func noise(examples: Int, declared: Bool, client: String, config: CoordinatorConfig) -> (noise: Double?, warning: String?) {
        // An undeclared size trains nothing: every real client declares it at Join.
        let sigma = declared ? privacy.noiseMultiplier(examples: examples, plan: config.plan, rounds: config.rounds) : nil
        guard sigma == nil else { return (sigma, nil) }
        return (
            nil,
            "\(client): with \(examples) training examples no noise multiplier keeps \(config.rounds) rounds within the target epsilon; it will not be asked to train"
        )
    }

    package func plan(_ plan: LocalTrainingPlan, noise: Double?) -> LocalTrainingPlan? {
        guard let noise else { return nil }
        var plan = plan
        plan.privacy = privacy.trainingConfig(noiseMultiplier: noise)
        return plan
    }

    package func charge(_ client: String, examples: Int, noise: Double?, round: Int, attempt: Int, config: CoordinatorConfig) -> PrivacyCharge? {
        guard let noise else { return nil }
        return PrivacyBook.charge(
            client, examples: examples, noiseMultiplier: noise, round: round, attempt: attempt, privacy: privacy, config: config)
    }

    package func mayTrain(next: PrivacyCharge?, book: PrivacyBook) -> Bool {
        guard let next else { return false }
        return book.withinBudget(next, privacy: privacy)
    }

    package func largestEpsilon(_ book: PrivacyBook) -> Double? { book.largestExampleEpsilon(privacy: privacy) }

    /// Spent silos count whether connected or not: a federation whose silos all left spent
    /// would otherwise wait for them forever.
    package func budgetStop(
        before round: Int, members: [String: RoundStateMachine.Member], eligible: [String], minClients: Int,
        mayTrain: (String) -> Bool
    ) -> String? {
        let noised = members.filter { $0.value.exampleNoise != nil }
        let spent = noised.keys.filter { !mayTrain($0) }
        let away = noised.filter { $0.value.connection == nil }.keys.filter { mayTrain($0) }
        let able = eligible.count + away.count
        guard able < minClients, !spent.isEmpty else { return nil }
        let connectedSpent = spent.filter { members[$0]?.connection != nil }.count
        return "stopping before round \(round): only \(able) of \(noised.count) silos can train another round within the example-level "
            + "privacy budget (epsilon \(privacy.budget ?? 0); spent: \(RoundStateMachine.names(Set(spent))), \(connectedSpent) of them connected), "
            + "\(minClients) needed; round \(round) is not started and no silo is charged for it"
    }
}
