import FedAttnAggregation
public import Foundation

/// The live part of a coordinator's status, copied on its actor (`Coordinator.statusSnapshot`):
/// the phase, who is connected and who joined since it started, and the history and privacy
/// ledger as they stand (copy-on-write arrays: taking them copies no record).
public struct CoordinatorSnapshot: Sendable {
    /// Where the rounds are (never `.stopping`: the process, not the coordinator, knows that).
    public var state: CoordinatorStatus.Phase.State
    /// The round under way, if one is.
    public var round: Int?
    /// Clients whose connection is open, in join order.
    public var connected: [String]
    /// Every client that joined since the coordinator started, connected or not.
    public var joined: [String]
    /// The rounds evaluated, oldest first.
    public var history: [RoundRecord]
    public var keptRound: Int?
    public var completedRounds: Int
    /// Example-level DP-SGD's charges so far, silo by silo (the state folder's and this run's).
    public var privacyCharges: [String: [PrivacyCharge]]
    /// The most-popular baseline as it stands (nil: not told).
    public var popularity: PopularityBaseline? = nil

    public init(
        state: CoordinatorStatus.Phase.State, round: Int? = nil, connected: [String] = [], joined: [String] = [], history: [RoundRecord] = [],
        keptRound: Int? = nil, completedRounds: Int = 0, privacyCharges: [String: [PrivacyCharge]] = [:]
    ) {
        self.state = state
        self.round = round
        self.connected = connected
        self.joined = joined
        self.history = history
        self.keptRound = keptRound
        self.completedRounds = completedRounds
        self.privacyCharges = privacyCharges
    }
}

extension RoundStateMachine {
    /// The machine's part of a status page, with the coordinator's `history`.
    func statusSnapshot(history: [RoundRecord]) -> CoordinatorSnapshot {
        let now: (state: CoordinatorStatus.Phase.State, round: Int?)
        switch phase {
        case .waitingForClients: now = (.waiting, nil)
        case .training(let t): now = (.training, t.round)
        case .securing(let s): now = (.securing, s.training.round)
        case .publishing(let p): now = (.publishing, p.outcome.round)
        case .evaluating(let e): now = (.evaluating, e.outcome.round)
        case .done: now = (.complete, nil)
        }
        return CoordinatorSnapshot(
            state: now.state, round: now.round, connected: present, joined: Array(members.keys), history: history, keptRound: selection.bestRound,
            completedRounds: completedRounds, privacyCharges: privacyCharges)
    }
}

extension CoordinatorStatus {
    /// The status of a coordinator run with `config` and `strategy` whose live facts are
    /// `snapshot`, at `time`: `publishedAt` each round's publication (from the state folder),
    /// `allowList` the silos `membersFile` lists (nil without one), `exampleEpsilon` the
    /// epsilon each silo has spent under example-level DP-SGD, `certificate` the coordinator's
    /// (nil with `--insecure`), `stopping` why the process stops (nil while it does not).
    ///
    /// Missing: with an allow-list, the silos it lists that are not connected (a silo it no
    /// longer lists, seen before, is `removed`); without one, the silos that joined since
    /// the start, took part in a round or were charged privacy, and are not connected.
    public init(
        _ snapshot: CoordinatorSnapshot, config: CoordinatorConfig, strategy: String, time: Date, publishedAt: [Int: Date] = [:],
        allowList: [String]? = nil, membersFile: String? = nil, exampleEpsilon: [String: Double] = [:],
        certificate: (file: String, notAfter: Date)? = nil, stopping: String? = nil
    ) {
        // A round evaluated by fewer silos than an earlier one is marked, as the report marks it.
        var fullest = 0
        let rounds = snapshot.history.map { r in
            defer { fullest = max(fullest, r.evaluatedClients) }
            return Round(
                round: r.round, publishedAt: publishedAt[r.round], seconds: r.seconds, trainSecondsMax: r.trainSecondsMax,
                participants: r.participants.count, evaluatedClients: r.evaluatedClients, partialOf: r.evaluatedClients < fullest ? fullest : nil,
                testAUC: r.testAUC, testLogLoss: r.testLogLoss, validationAUC: r.validationAUC, validationNDCG: r.validationNDCG, hitRate: r.hitRate,
                ndcg: r.ndcg, recallAt20: r.recallAt20, ndcgAt20: r.ndcgAt20, epsilon: r.epsilon, exampleEpsilon: r.exampleEpsilon,
                disputes: r.disputes, retries: r.retries)
        }
        var trained: [String: (rounds: Int, last: Int)] = [:]
        for record in snapshot.history {
            for silo in Set(record.participants) {
                let before = trained[silo] ?? (rounds: 0, last: 0)
                trained[silo] = (before.rounds + 1, max(before.last, record.round))
            }
        }
        let connected = Set(snapshot.connected)
        let seen = Set(trained.keys).union(snapshot.joined).union(snapshot.privacyCharges.keys)
        let expected = allowList.map { Set($0) } ?? seen
        let missing = expected.subtracting(connected).sorted()
        let removed = allowList == nil ? [] : seen.subtracting(expected).subtracting(connected).sorted()
        let silos =
            snapshot.connected.map { ($0, Silo.State.connected) } + missing.map { ($0, Silo.State.missing) }
            + removed.map { ($0, Silo.State.removed) }
        let clientLevel = config.server.isClientLevelDP
        let privacy: Privacy? =
            clientLevel || config.examplePrivacy != nil
            ? Privacy(
                exampleLevel: config.examplePrivacy != nil, exampleBudget: config.examplePrivacy?.budget, clientLevel: clientLevel,
                clientEpsilon: snapshot.history.last?.epsilon, clientBudget: config.clientEpsilonBudget)
            : nil
        let phase: Phase =
            if let stopping {
                Phase(state: .stopping, connected: snapshot.connected.count, needed: config.minClients, reason: stopping)
            } else {
                Phase(state: snapshot.state, round: snapshot.round, connected: snapshot.connected.count, needed: config.minClients)
            }
        self.init(
            time: time, phase: phase, plannedRounds: config.rounds, completedRounds: snapshot.completedRounds, keptRound: snapshot.keptRound,
            keptBy: config.selectBy.settingName, strategy: strategy, rounds: rounds,
            silos: silos.map { name, state in
                Silo(name: name, state: state, rounds: trained[name]?.rounds ?? 0, lastRound: trained[name]?.last, epsilon: exampleEpsilon[name])
            },
            membersFile: membersFile, privacy: privacy,
            certificate: certificate.map { Certificate(file: $0.file, notAfter: $0.notAfter, at: time) },
            popularity: snapshot.popularity.map { Popularity($0) })
    }
}
