import FedAttnAggregation
import FedAttnCore
import FedAttnModel
import Logging

/// The life of a federation's rounds as a pure value: it takes events (a join, a leave, an
/// update, an evaluation, time passing, the end of a store) and returns what its owner must
/// do. It does no I/O and reads no clock: every event comes with `now`, the time since the
/// coordinator started, so a test drives it with plain values.
///
///     waitingForClients ──enough connected──► training(round) ──all answered, or deadline with quorum──► publishing
///            ▲   ▲                               │  deadline without quorum: retry (same round)              │ stored
///            │   └─too few connected─────────────┘                                                           ▼
///            └─too few connected─── training(round + 1) ◄──all reported, or deadline── evaluating(round) ──last round──► done
///
/// Membership follows the connections: a client whose connection closed is neither
/// selected nor waited for, and does not count toward `minClients`, until it joins again.
public struct RoundStateMachine: Sendable {
    public let config: CoordinatorConfig
    /// The version clients train from: the last published model's.
    public private(set) var version: String
    /// Rounds published and evaluated.
    public private(set) var completedRounds: Int
    /// The best round by validation AUC, and whether to stop early.
    public private(set) var selection: ModelSelection
    /// Changes whenever some client's next task may have changed, so the owner wakes the
    /// clients waiting for one.
    public internal(set) var generation = 0
    /// Fresh randomness for the next secure round's ids, graph and session. The owner sets it
    /// from the system's cryptographic generator before each event; the machine reads no
    /// clock and draws no randomness of its own, so a test sets it to what it likes.
    public var entropy: UInt64 = 0

    var members: [String: Member] = [:]
    /// Connections heard closed before any join on them arrived (a close can overtake the
    /// join it follows): a join on one of these does not make its client present.
    private var closedEarly: [String] = []
    var phase: Phase
    /// A round published before a restart whose evaluation never finished.
    private var unevaluated: RoundOutcome?
    /// Why earlier attempts at the current round were retried.
    private(set) var retries: [String] = []
    private var roundStarted: Duration = .zero
    private var bytesDown: [String: Int] = [:]
    /// Each silo's validation values of the last round evaluated (since this start), which
    /// the next round's are compared with.
    private var lastScores: [String: RoundEvaluations.Scores] = [:]
    /// What the rounds have spent of the silos' privacy (both kinds).
    private var book: PrivacyBook
    /// Example-level DP-SGD, or none: what the machine asks instead of testing the setting.
    private let privacyPolicy: any ExamplePrivacyPolicy
    /// Updates uploaded whole, or through the secure phases: what the machine asks instead of
    /// testing the setting.
    let collection: any RoundCollection

    /// A client that joined, as the machine keeps it.
    package struct Member {
        /// Join order: it seeds the client's shuffling and orders selection.
        package let order: Int
        /// The connection it is present on; nil once that closed.
        package var connection: String?
        /// The training examples it declared: the most an update of it may claim.
        package var trainExamples: Int
        /// With example-level DP: its noise multiplier (nil: no multiplier reaches the target).
        package var exampleNoise: Double?

        package init(order: Int, connection: String?, trainExamples: Int, exampleNoise: Double? = nil) {
            self.order = order
            self.connection = connection
            self.trainExamples = trainExamples
            self.exampleNoise = exampleNoise
        }
    }

    enum Phase {
        case waitingForClients
        case training(Training)
        /// A secure round's phases after training (secure aggregation only).
        case securing(Securing)
        case publishing(Publishing)
        case evaluating(Evaluating)
        case done
    }

    struct Training {
        let round: Int
        var selected: Set<String>
        var received: Set<String> = []
        var participants: [String] = []
        var examples = 0
        var bytesUp = 0
        var trainSecondsMax = 0.0
        let deadline: Duration
        /// With DP-FedAvg: the round's sampling rate in the accounting.
        var dpSamplingRate: Double? = nil
        /// With secure aggregation: the round's plan (training then collects the keys).
        var secure: SecureRoundPlan? = nil
    }

    /// A secure round past training: one phase at a time, each with its deadline, each
    /// waiting for the clients that answered the one before.
    struct Securing {
        var training: Training
        let plan: SecureRoundPlan
        var phase: SecurePhase
        var expected: Set<String>
        var received: Set<String> = []
        var deadline: Duration
    }

    struct Publishing {
        let outcome: RoundOutcome
        var failures = 0
        var firstFailure: String?
        /// When storing is tried again; nil while an attempt is under way.
        var retryAt: Duration?
    }

    struct Evaluating {
        let outcome: RoundOutcome
        let version: String
        var pending: Set<String>
        var evaluations = RoundEvaluations()
        let deadline: Duration
    }

    /// A machine for a new federation whose initial model is `version`, or one resumed from a
    /// state folder: `completedRounds` published and evaluated (`history`: their records, for
    /// model selection), and possibly one more (`unevaluated`) published but not yet
    /// evaluated, whose model is `version`; `privacyCharges`: the folder's privacy ledger.
    public init(
        config: CoordinatorConfig, version: String, completedRounds: Int = 0, unevaluated: RoundOutcome? = nil, history: [RoundRecord] = [],
        privacyCharges: [PrivacyCharge] = []
    ) {
        book = PrivacyBook(charges: privacyCharges, history: history)
        privacyPolicy = config.examplePrivacy.map { DPSGDPolicy(privacy: $0) } ?? NoExamplePrivacy()
        collection = config.secureAggregation.map { SecureUpdates(settings: $0) } ?? UploadedUpdates()
        self.config = config
        self.version = version
        self.completedRounds = completedRounds
        self.unevaluated = unevaluated
        selection = ModelSelection(patience: config.patience, metric: config.selectBy, replaying: history)
        let finished = completedRounds >= config.rounds || selection.shouldStop
        phase = unevaluated == nil && finished ? .done : .waitingForClients
    }

    // MARK: Questions

    public var isDone: Bool { if case .done = phase { true } else { false } }

    /// The training examples `client` declared at Join (nil for a stranger).
    public func declaredExamples(of client: String) -> Int? { members[client]?.trainExamples }

    /// Refuses a second Join on a live connection that declares another number of training
    /// examples: the count weighs the silo's updates (and bounds what it may claim), so it
    /// changes only when the silo connects again, not in the middle of its session.
    public func checkJoin(client: String, connection: String, examples: Int) throws(CoordinatorError) {
        guard let member = members[client], member.connection == connection, member.trainExamples != examples else { return }
        throw .invalidRequest(
            "'\(client)' joined on this connection declaring \(member.trainExamples) training examples, not \(examples); "
                + "a silo's declared count changes only when it connects again")
    }

    /// Whether `client` has ever joined (present or not).
    public func isMember(_ client: String) -> Bool { members[client] != nil }

    /// Clients whose connection is open, in join order.
    public var present: [String] {
        members.filter { $0.value.connection != nil }.sorted { $0.value.order < $1.value.order }.map(\.key)
    }

    /// Example-level DP-SGD's charges so far, silo by silo, for the status page.
    var privacyCharges: [String: [PrivacyCharge]] { book.charges }

    /// When the machine next needs a `.tick`: a round's or an evaluation's deadline, or the
    /// next attempt at storing a model.
    public var nextDeadline: Duration? {
        switch phase {
        case .training(let t): t.deadline
        case .securing(let s): s.deadline
        case .evaluating(let e): e.deadline
        case .publishing(let p): p.retryAt
        case .waitingForClients, .done: nil
        }
    }

    /// What `client` should do now; `.wait(retryAfter: .zero)` when there is nothing for it.
    public func task(for client: String) -> FederationTask {
        switch phase {
        case .waitingForClients, .publishing: return .wait(retryAfter: .zero)
        case .done: return .done(keptVersion: nil)  // the coordinator names the kept model
        case .training(let t):
            guard t.selected.contains(client), !t.received.contains(client), let member = members[client] else { return .wait(retryAfter: .zero) }
            guard var plan = privacyPolicy.plan(config.plan, noise: member.exampleNoise) else { return .wait(retryAfter: .zero) }
            plan.seed = config.plan.seed &+ UInt64(t.round) &* 1_000 &+ UInt64(member.order)
            plan.secure = collection.taskPlan(for: client, in: t.secure)
            return .train(round: t.round, modelVersion: version, plan: plan)
        case .securing(let s):
            guard s.expected.contains(client), !s.received.contains(client) else { return .wait(retryAfter: .zero) }
            return .secure(SecureTask(round: s.training.round, attempt: s.plan.attempt, phase: s.phase))
        case .evaluating(let e):
            guard e.pending.contains(client) else { return .wait(retryAfter: .zero) }
            return .evaluate(round: e.outcome.round, modelVersion: e.version)
        }
    }

    /// Refuses an update for another round or base version, from a client not selected, or
    /// a second one from the same client.
    public func checkUpdateWanted(client: String, round: Int, baseVersion: String) throws(CoordinatorError) {
        guard members[client] != nil else { throw .notJoined(client) }
        if let refusal = collection.refuseUpload(from: client) { throw refusal }
        guard case .training(let t) = phase else {
            throw .staleUpdate("update from '\(client)' for round \(round): no round is collecting updates now")
        }
        guard round == t.round else { throw .staleUpdate("update from '\(client)' for round \(round), but round \(t.round) is collecting") }
        guard baseVersion == version else {
            throw .staleUpdate(
                "update from '\(client)' trained from version \(baseVersion.prefix(12)), not the current \(version.prefix(12))")
        }
        guard t.selected.contains(client) else { throw .staleUpdate("client '\(client)' was not selected for round \(round)") }
        guard !t.received.contains(client) else { throw .staleUpdate("client '\(client)' already sent its update for round \(round)") }
    }

    // MARK: Events

    /// Takes one event at `now` (time since the coordinator started) and returns what to do,
    /// in order. Refuses what arrives out of place (a stale update or evaluation) with the
    /// reason, leaving the machine as it was.
    public mutating func handle(_ event: RoundEvent, at now: Duration) throws(CoordinatorError) -> [RoundAction] {
        var actions: [RoundAction] = []
        switch event {
        case .joined(let client, let connection, let examples): join(client, connection, examples, &actions)
        case .left(let client, let connection): leave(client, connection, &actions)
        case .update(let update): try accept(update, &actions)
        case .downloaded(let client, let bytes):
            bytesDown[client, default: 0] += bytes
            return []  // a piece served moves no round: nothing to advance (this runs for every piece)
        case .evaluation(let client, let round, let version, let report):
            try acceptEvaluation(client: client, round: round, version: version, report: report)
        case .published(let round, let version): published(round, version, now, &actions)
        case .aggregationFailed(let round, let reason):
            guard case .publishing(let p) = phase, p.outcome.round == round else { break }
            retry(round, "round \(round): \(reason)", now, &actions)
        case .storeFailed(let round, let reason): storeFailed(round, reason, now, &actions)
        case .secure(let arrival): try acceptSecure(arrival, &actions)
        case .secureFailed(let round, let reason):
            switch phase {
            case .securing(let s) where s.training.round == round: retry(round, "round \(round): secure aggregation failed: \(reason)", now, &actions)
            case .publishing(let p) where p.outcome.round == round:
                retry(round, "round \(round): secure aggregation failed: \(reason)", now, &actions)
            default: break
            }
        case .tick: break
        }
        advance(now, &actions)
        return actions
    }

    private mutating func join(_ client: String, _ connection: String, _ examples: Int?, _ actions: inout [RoundAction]) {
        if let closed = closedEarly.firstIndex(of: connection) {
            // Its connection is already gone: known from now on, present once it calls again.
            closedEarly.remove(at: closed)
            if members[client] == nil {
                members[client] = Member(order: members.count, connection: nil, trainExamples: examples ?? config.maxTrainExamples)
                declare(client, examples ?? config.maxTrainExamples, &actions)
            } else if let examples {
                declare(client, examples, &actions)
            }
            return
        }
        if let member = members[client] {
            if let examples { declare(client, examples, &actions) }
            guard member.connection != connection else { return }
            members[client]!.connection = connection
            actions.append(.log(.info, "\(client) rejoined (\(presentSummary))"))
        } else {
            members[client] = Member(order: members.count, connection: connection, trainExamples: examples ?? config.maxTrainExamples)
            declare(client, examples ?? config.maxTrainExamples, &actions)
            actions.append(.log(.info, "\(client) joined (\(presentSummary))"))
        }
        generation += 1
    }

    /// Records the training examples `client` declared, and the noise multiplier they call for
    /// (example-level DP; nil without it), with a warning when none keeps its target. It is
    /// worked out again when the size changes or the silo has none yet (so a silo without one
    /// is warned at each Join that declares a size; without DP it is always none).
    private mutating func declare(_ client: String, _ examples: Int, _ actions: inout [RoundAction]) {
        let changed = members[client]!.trainExamples != examples || members[client]!.exampleNoise == nil
        members[client]!.trainExamples = examples
        guard changed else { return }
        let (noise, warning) = privacyPolicy.noise(
            examples: examples, declared: examples != config.maxTrainExamples, client: client, config: config)
        members[client]!.exampleNoise = noise
        if let warning { actions.append(.log(.warning, warning)) }
    }

    /// What asking `client` to train attempt `attempt` of round `round` charges it (nil without
    /// example-level DP or without a noise multiplier for it).
    private func charge(_ client: String, round: Int, attempt: Int) -> PrivacyCharge? {
        guard let member = members[client] else { return nil }
        return privacyPolicy.charge(
            client, examples: member.trainExamples, noise: member.exampleNoise, round: round, attempt: attempt, config: config)
    }

    /// Whether `client` may be asked to train: always without example-level DP; with it, when
    /// it has a noise multiplier and one more round stays within its budget.
    private func mayTrain(_ client: String, round: Int) -> Bool {
        privacyPolicy.mayTrain(next: charge(client, round: round, attempt: retries.count + 1), book: book)
    }

    /// With example-level DP: the noise multiplier `client` trains with (nil: none reaches
    /// the target, or no example-level DP).
    public func exampleNoiseMultiplier(of client: String) -> Double? { members[client]?.exampleNoise }

    private mutating func leave(_ client: String, _ connection: String, _ actions: inout [RoundAction]) {
        guard members[client]?.connection == connection else {
            // An older connection's close, or one that overtook its own join: remember it.
            if members[client] == nil || members[client]?.connection == nil {
                closedEarly.append(connection)
                if closedEarly.count > 1_024 { closedEarly.removeFirst(closedEarly.count - 1_024) }
            }
            return
        }
        members[client]!.connection = nil
        var note = ""
        switch phase {
        case .training(let t) where t.selected.contains(client) && !t.received.contains(client):
            note = "; round \(t.round) no longer waits for it"
        case .securing(let s) where s.expected.contains(client) && !s.received.contains(client):
            note = "; round \(s.training.round)'s \(s.phase) phase no longer waits for it"
        case .evaluating(var e) where e.pending.remove(client) != nil:
            phase = .evaluating(e)
            note = "; round \(e.outcome.round)'s evaluation no longer waits for it"
        default: break
        }
        actions.append(.log(.info, "\(client) left (\(presentSummary))\(note)"))
        generation += 1
    }

    private var presentSummary: String {
        let count = present.count
        if case .waitingForClients = phase, count < config.minClients { return "\(count) of \(config.minClients) needed connected" }
        return "\(count) connected"
    }

    private mutating func accept(_ update: UpdateArrival, _ actions: inout [RoundAction]) throws(CoordinatorError) {
        try checkUpdateWanted(client: update.client, round: update.round, baseVersion: update.baseVersion)
        guard update.examples >= 1 else {
            throw .invalidUpdate("update from '\(update.client)' must carry at least one example, got \(update.examples)")
        }
        let declared = members[update.client]?.trainExamples ?? config.maxTrainExamples
        guard update.examples <= declared else {
            throw .invalidUpdate("update from '\(update.client)' claims \(update.examples) training examples, but it declared \(declared) at Join")
        }
        guard case .training(var t) = phase else { return }
        t.received.insert(update.client)
        t.participants.append(update.client)
        t.examples += update.examples
        t.bytesUp += update.bytes
        t.trainSecondsMax = max(t.trainSecondsMax, update.trainSeconds)
        phase = .training(t)
        actions.append(.fold(client: update.client))
    }

    /// Refuses a secure answer that is not the one the round waits for from `client` now.
    public func checkSecureWanted(client: String, round: Int, attempt: Int, phase secure: SecurePhase) throws(CoordinatorError) {
        guard members[client] != nil else { throw .notJoined(client) }
        if let refusal = collection.refuseSecure(from: client) { throw refusal }
        switch phase {
        case .training(let t) where secure == .advertise:
            guard let plan = t.secure, t.round == round, plan.attempt == attempt else {
                throw .staleUpdate(
                    "keys from '\(client)' for round \(round) attempt \(attempt), but round \(t.round) attempt \(t.secure?.attempt ?? 0) is training")
            }
            guard t.selected.contains(client) else { throw .staleUpdate("client '\(client)' was not selected for round \(round)") }
            guard !t.received.contains(client) else { throw .staleUpdate("client '\(client)' already sent its keys for round \(round)") }
        case .securing(let s):
            guard s.training.round == round, s.plan.attempt == attempt, s.phase == secure else {
                throw .staleUpdate(
                    "\(secure) from '\(client)' for round \(round) attempt \(attempt), but round \(s.training.round) attempt \(s.plan.attempt) is at \(s.phase)"
                )
            }
            guard s.expected.contains(client) else { throw .staleUpdate("round \(round)'s \(secure) phase does not wait for '\(client)'") }
            guard !s.received.contains(client) else { throw .staleUpdate("client '\(client)' already answered round \(round)'s \(secure) phase") }
        default: throw .staleUpdate("\(secure) from '\(client)' for round \(round): that phase is not under way")
        }
    }

    private mutating func acceptSecure(_ a: SecureArrival, _ actions: inout [RoundAction]) throws(CoordinatorError) {
        try checkSecureWanted(client: a.client, round: a.round, attempt: a.attempt, phase: a.phase)
        if let reason = a.abort {
            // The round stops waiting for it; its neighbours' shares remove its masks.
            switch phase {
            case .training(var t):
                t.selected.remove(a.client)
                phase = .training(t)
            case .securing(var s):
                s.expected.remove(a.client)
                phase = .securing(s)
            default: return
            }
            actions.append(.log(.warning, "round \(a.round): \(a.client) cannot go on at \(a.phase): \(reason.prefix(300))"))
            return
        }
        switch phase {
        case .training(var t):
            guard a.baseVersion == version else {
                throw .staleUpdate(
                    "keys from '\(a.client)' for a model trained from version \(a.baseVersion.prefix(12)), not the current \(version.prefix(12))"
                )
            }
            let declared = members[a.client]?.trainExamples ?? config.maxTrainExamples
            guard a.examples >= 1, a.examples <= declared else {
                throw .invalidUpdate("'\(a.client)' claims \(a.examples) training examples; it declared \(declared) at Join")
            }
            t.received.insert(a.client)
            t.participants.append(a.client)
            t.bytesUp += a.bytes
            t.trainSecondsMax = max(t.trainSecondsMax, a.trainSeconds)
            phase = .training(t)
        case .securing(var s):
            s.received.insert(a.client)
            s.training.bytesUp += a.bytes
            phase = .securing(s)
        default: return
        }
        actions.append(.secureFold(client: a.client))
    }

    private mutating func acceptEvaluation(client: String, round: Int, version: String, report: EvaluationReport) throws(CoordinatorError) {
        guard case .evaluating(var e) = phase else {
            throw .staleUpdate("evaluation from '\(client)' for round \(round): no evaluation is being collected now")
        }
        guard e.outcome.round == round else {
            throw .staleUpdate("evaluation from '\(client)' for round \(round), but round \(e.outcome.round)'s is being collected")
        }
        guard e.version == version else {
            throw .staleUpdate(
                "evaluation from '\(client)' of model \(version.prefix(12)) for round \(round), but round \(round) evaluates model \(e.version.prefix(12)) (a report echoes its task's round and model_version)"
            )
        }
        guard e.pending.remove(client) != nil else {
            throw .staleUpdate("client '\(client)' was not asked to evaluate round \(round), or already did")
        }
        e.evaluations.add(client: client, declaredExamples: members[client]?.trainExamples ?? config.maxTrainExamples, report: report)
        phase = .evaluating(e)
    }

    private mutating func published(_ round: Int, _ newVersion: String, _ now: Duration, _ actions: inout [RoundAction]) {
        guard case .publishing(let p) = phase, p.outcome.round == round else { return }
        if p.failures > 0 {
            let note = "round \(round): the new version was stored at attempt \(p.failures + 1) (first failure: \(p.firstFailure ?? "?"))"
            retries.append(note)
            actions.append(.log(.notice, note))
        }
        version = newVersion
        startEvaluating(p.outcome, now)
    }

    private mutating func storeFailed(_ round: Int, _ reason: String, _ now: Duration, _ actions: inout [RoundAction]) {
        guard case .publishing(var p) = phase, p.outcome.round == round else { return }
        p.failures += 1
        let backoff = Self.storeBackoff(afterFailures: p.failures)
        if p.failures == 1 {
            p.firstFailure = reason
            actions.append(
                .log(
                    .error,
                    "round \(round): cannot store the new version: \(reason); trying again with backoff (up to \(Self.maxStoreBackoff)); no silo retrains"
                ))
        }
        p.retryAt = now + backoff
        phase = .publishing(p)
    }

    /// The longest wait between two attempts at storing a model.
    public static let maxStoreBackoff: Duration = .seconds(30)

    /// 0.5 s, doubling with each failure, up to `maxStoreBackoff`.
    package static func storeBackoff(afterFailures failures: Int) -> Duration {
        min(.milliseconds(500) * (1 << min(failures - 1, 16)), maxStoreBackoff)
    }

    // MARK: Moving on

    /// Starts, closes and retries rounds as the present state allows.
    private mutating func advance(_ now: Duration, _ actions: inout [RoundAction]) {
        switch phase {
        case .done: return
        case .waitingForClients:
            guard present.count >= config.minClients else { return }
            if let pending = unevaluated {
                // Published before a restart: evaluate it, don't train it again.
                unevaluated = nil
                actions.append(.log(.notice, "round \(pending.round): published before the restart; evaluating it"))
                roundStarted = now
                bytesDown = [:]
                startEvaluating(pending, now)
            } else if completedRounds >= config.rounds || selection.shouldStop {
                finish(&actions)
            } else {
                startTraining(completedRounds + 1, now, &actions)
            }
        case .training(let t):
            let outstanding = t.selected.subtracting(t.received).filter { members[$0]?.connection != nil }
            guard outstanding.isEmpty || now >= t.deadline else { return }
            guard t.received.count >= max(config.quorum, 1) else {
                let gone = t.selected.count - t.received.count - outstanding.count
                let why = now >= t.deadline ? "by the deadline" : "before every other selected client left"
                retry(
                    t.round,
                    "round \(t.round): \(t.received.count) of \(t.selected.count) updates \(why)\(gone > 0 ? " (\(gone) left)" : ""), quorum \(config.quorum)",
                    now, &actions)
                return
            }
            if let plan = t.secure {
                closeSecureTraining(t, plan, now, &actions)
                return
            }
            let outcome = RoundOutcome(
                round: t.round, participants: t.participants, examples: t.examples,
                bytesUpPerClient: t.received.isEmpty ? 0 : t.bytesUp / t.received.count, trainSecondsMax: t.trainSecondsMax,
                dpSamplingRate: t.dpSamplingRate)
            let missing = t.selected.count - t.received.count
            actions.append(
                .log(
                    .info,
                    "round \(t.round): closed with \(t.received.count) of \(t.selected.count) updates"
                        + (missing > 0 ? " (\(missing) missing: \(Self.names(t.selected.subtracting(t.received))))" : "")))
            phase = .publishing(Publishing(outcome: outcome))
            generation += 1
            actions.append(.aggregate(outcome))
        case .securing(let s): advanceSecure(s, now, &actions)
        case .publishing(var p):
            guard let at = p.retryAt, now >= at else { return }
            p.retryAt = nil
            phase = .publishing(p)
            actions.append(.storeAgain(p.outcome))
        case .evaluating(let e):
            guard e.pending.isEmpty || now >= e.deadline else { return }
            let bytesDownPerClient = bytesDown.isEmpty ? 0 : bytesDown.values.reduce(0, +) / bytesDown.count
            let o = e.outcome
            let pooled = e.evaluations.pooled(previous: lastScores)
            lastScores = pooled.scores
            for dispute in pooled.disputes { actions.append(.log(.warning, "round \(o.round): evaluation disputed: \(dispute)")) }
            let report = pooled.report
            var recorded = RoundRecord(
                round: o.round, modelVersion: e.version, participants: o.participants, examples: o.examples, testAUC: report.test.auc,
                testLogLoss: report.test.logLoss, evaluatedClients: e.evaluations.count, bytesUpPerClient: o.bytesUpPerClient,
                bytesDownPerClient: bytesDownPerClient, seconds: Double((now - roundStarted) / .milliseconds(1)) / 1_000,
                trainSecondsMax: o.trainSecondsMax, retries: retries, validationAUC: pooled.validationAUC,
                validationLogLoss: report.validation.logLoss, hitRate: report.ranking.hitRate, ndcg: report.ranking.ndcg,
                rankedUsers: report.ranking.users, validationNDCG: pooled.validationNDCG, recallAt20: report.ranking.recallAt20,
                ndcgAt20: report.ranking.ndcgAt20,
                catalogueUsers: report.ranking.catalogueUsers)
            recorded.disputes = pooled.disputes
            recorded.siloScores = pooled.counted
            if let q = o.dpSamplingRate {
                book.recordClientLevelRound(samplingRate: q)
                recorded.dpSamplingRate = q
                recorded.epsilon = book.clientEpsilon(config)
            }
            recorded.exampleEpsilon = privacyPolicy.largestEpsilon(book)
            actions.append(.record(recorded))
            if selection.observe(recorded) { actions.append(.keepBest(round: o.round)) }
            completedRounds = o.round
            retries = []
            if o.round >= config.rounds {
                finish(&actions)
            } else if selection.shouldStop {
                let name = selection.metric.settingName, best: Double = ((selection.bestValue ?? 0) * 10_000).rounded() / 10_000
                actions.append(
                    .log(
                        .notice,
                        "stopping after round \(o.round): the \(name) has not improved for \(config.patience) rounds "
                            + "(best: round \(selection.bestRound ?? 0), \(name) \(best))"))
                finish(&actions)
            } else {
                startTraining(o.round + 1, now, &actions)
            }
        }
    }

    mutating func retry(_ round: Int, _ reason: String, _ now: Duration, _ actions: inout [RoundAction]) {
        retries.append(reason)
        actions.append(.log(.warning, "\(reason); retrying the round"))
        startTraining(round, now, &actions)
    }

    /// Selects round `round`'s clients among those present (all, or a seeded sample), or
    /// waits for clients when too few are connected.
    private mutating func startTraining(_ round: Int, _ now: Duration, _ actions: inout [RoundAction]) {
        let eligible = present.filter { mayTrain($0, round: round) }
        var clients = eligible
        generation += 1
        if let stop = budgetStop(before: round, eligible: eligible) {
            // Before any charge: the round not started costs no silo anything.
            actions.append(.log(.notice, stop))
            finish(&actions)
            return
        }
        guard clients.count >= config.minClients, !clients.isEmpty else {
            phase = .waitingForClients
            actions.append(.log(.notice, "round \(round) waits for clients: \(clients.count) of \(config.minClients) needed connected"))
            return
        }
        if config.clientsPerRound > 0 && config.clientsPerRound < clients.count {
            var rng = SeededGenerator(seed: UInt64(round) &* 7_919 &+ UInt64(retries.count))
            clients.shuffle(using: &rng)
            clients = Array(clients.prefix(config.clientsPerRound))
        }
        var dpSamplingRate: Double?
        if config.server.isClientLevelDP {
            // Fewer clients connected (or able to train) raise the sampling rate, and with it what a round spends.
            let q = config.privacyAccounting(connected: eligible.count).samplingRate
            if let budget = config.clientEpsilonBudget, let spent = book.clientEpsilon(config, adding: q), spent > budget * (1 + 1e-9) {
                actions.append(
                    .log(
                        .notice,
                        "stopping before round \(round): at sampling rate \((q * 1_000).rounded() / 1_000) (\(present.count) connected) it would take "
                            + "the epsilon per silo to \((spent * 1_000).rounded() / 1_000), over the budget of \(budget)"))
                finish(&actions)
                return
            }
            dpSamplingRate = q
        }
        let securePlan: SecureRoundPlan?
        switch collection.start(round: round, clients: clients, retries: retries.count, plan: { planSecureRound(round, $0, $1) }) {
        case .wait(let why):
            phase = .waitingForClients
            actions.append(.log(.notice, why))
            return
        case .start(let chosen, let secure, let logs):
            clients = chosen
            securePlan = secure
            for line in logs { actions.append(.log(.notice, line)) }
        }
        // A retried round's seconds count from its first attempt: what the round cost.
        if retries.isEmpty { roundStarted = now }
        bytesDown = [:]
        phase = .training(
            Training(round: round, selected: Set(clients), deadline: now + config.roundTimeout, dpSamplingRate: dpSamplingRate, secure: securePlan))
        let charges = clients.compactMap { charge($0, round: round, attempt: retries.count + 1) }
        for c in charges { book.charge(c) }
        if !charges.isEmpty { actions.append(.chargePrivacy(charges)) }
        let attempt = retries.isEmpty ? "" : " (attempt \(retries.count + 1))"
        actions.append(.log(.info, "round \(round)\(attempt): training on \(clients.count) of \(present.count) connected clients"))
        actions.append(.beginTraining(round: round, selected: clients, attempt: retries.count + 1))
        if let securePlan { actions.append(.secureBegin(securePlan)) }
    }

    /// With example-level DP: why the run ends before `round` (nil: it goes on). It ends when
    /// some silo is spent (it has a noise multiplier but no budget left for another round) and
    /// the silos that can still train, connected (`eligible`) or away (they may come back),
    /// are fewer than `minClients`. Spent silos count whether connected or not: a federation
    /// whose silos all left spent would otherwise wait for them forever.
    private func budgetStop(before round: Int, eligible: [String]) -> String? {
        privacyPolicy.budgetStop(before: round, members: members, eligible: eligible, minClients: config.minClients) {
            mayTrain($0, round: round)
        }
    }

    private mutating func startEvaluating(_ outcome: RoundOutcome, _ now: Duration) {
        phase = .evaluating(Evaluating(outcome: outcome, version: version, pending: Set(present), deadline: now + config.roundTimeout))
        generation += 1
    }

    private mutating func finish(_ actions: inout [RoundAction]) {
        phase = .done
        generation += 1
        actions.append(.finish)
    }

    /// A few names for a log line, sorted, with a count of the rest.
    package static func names(_ clients: Set<String>, limit: Int = 5) -> String {
        let sorted = clients.sorted()
        return sorted.prefix(limit).joined(separator: ", ") + (sorted.count > limit ? " and \(sorted.count - limit) more" : "")
    }
}
