import FedAttnModel
public import Foundation

/// What a served coordinator's status page shows (`serve --metrics-port`: `/status`, and
/// `/status.json` for scripts), as one plain value: the federation's phase, every round
/// evaluated with its figures and times, who is connected and who is missing, the epsilon
/// each silo has spent, the kept round and the coordinator's certificate. Built by
/// `CoordinatorStatusSource` from the coordinator and its state folder; rendered by
/// `StatusPage` (FedAttnSimulation). Its JSON keys are snake case, as `history --json`'s.
public struct CoordinatorStatus: Sendable, Equatable, Codable {
    /// When these facts were gathered.
    public var time: Date
    public var phase: Phase
    /// Rounds the federation plans (`--rounds`), and rounds published and evaluated so far.
    public var plannedRounds: Int
    public var completedRounds: Int
    /// The round kept by validation so far (`best.safetensors`); nil while no round has a
    /// validation figure.
    public var keptRound: Int?
    /// What the kept round is chosen by: "validation AUC" or "validation NDCG@10".
    public var keptBy: String
    /// The server's rule and its settings (`Coordinator.strategyName`).
    public var strategy: String
    /// Every round evaluated, oldest first.
    public var rounds: [Round]
    /// The silos connected now, in join order, then those missing, then those removed.
    public var silos: [Silo]
    /// The allow-list file (`serve --members`); nil: every silo the federation CA signed is admitted.
    public var membersFile: String?
    /// Differential privacy's budgets and DP-FedAvg's spend; nil without differential privacy.
    public var privacy: Privacy?
    /// The coordinator's certificate; nil with `--insecure`.
    public var certificate: Certificate?
    /// The most-popular baseline beside the rounds' figures, or why it is not measured; nil
    /// when not told.
    public var popularity: Popularity?

    public init(
        time: Date, phase: Phase, plannedRounds: Int, completedRounds: Int, keptRound: Int?, keptBy: String, strategy: String,
        rounds: [Round], silos: [Silo], membersFile: String? = nil, privacy: Privacy? = nil, certificate: Certificate? = nil,
        popularity: Popularity? = nil
    ) {
        self.popularity = popularity
        self.time = time
        self.phase = phase
        self.plannedRounds = plannedRounds
        self.completedRounds = completedRounds
        self.keptRound = keptRound
        self.keptBy = keptBy
        self.strategy = strategy
        self.rounds = rounds
        self.silos = silos
        self.membersFile = membersFile
        self.privacy = privacy
        self.certificate = certificate
    }

    enum CodingKeys: String, CodingKey {
        case time, phase, strategy, rounds, silos, privacy, certificate, popularity
        case plannedRounds = "planned_rounds"
        case completedRounds = "completed_rounds"
        case keptRound = "kept_round"
        case keptBy = "kept_by"
        case membersFile = "members_file"
    }

    /// Where the federation is.
    public struct Phase: Sendable, Equatable, Codable {
        public enum State: String, Sendable, Codable {
            /// Fewer clients connected than a round needs (`--min-clients`).
            case waiting
            /// Round `round` is under way: its selected silos train, ...
            case training
            /// ... run the secure phases (secure aggregation), ...
            case securing
            /// ... its updates are aggregated and the model stored, ...
            case publishing
            /// ... and the silos evaluate its model.
            case evaluating
            /// Every round is done (or it stopped early): the kept model is served.
            case complete
            /// The process was asked to stop.
            case stopping
        }

        public var state: State
        /// The round under way (training to evaluating); nil otherwise.
        public var round: Int?
        /// Clients connected now, and clients a round needs (`--min-clients`).
        public var connected: Int
        public var needed: Int
        /// Why it stops (e.g. `asked to stop (SIGTERM)`); nil unless stopping.
        public var reason: String?

        public init(state: State, round: Int? = nil, connected: Int, needed: Int, reason: String? = nil) {
            self.state = state
            self.round = round
            self.connected = connected
            self.needed = needed
            self.reason = reason
        }
    }

    /// A round evaluated, with its figures (pooled over the silos that evaluated it, as the
    /// history holds them) and its times.
    public struct Round: Sendable, Equatable, Codable {
        public var round: Int
        /// When its model was published (stored); nil without a state folder.
        public var publishedAt: Date?
        /// The round's wall seconds, and the slowest silo's training seconds within them.
        public var seconds: Double
        public var trainSecondsMax: Double
        /// Silos whose update it aggregated, and silos whose evaluation its figures pool.
        public var participants: Int
        public var evaluatedClients: Int
        /// When it was evaluated by fewer silos than an earlier round (its figures are
        /// another population's): the most silos an earlier round was evaluated by; nil otherwise.
        public var partialOf: Int?
        public var testAUC: Double?
        public var testLogLoss: Double?
        public var validationAUC: Double?
        public var validationNDCG: Double?
        public var hitRate: Double?
        public var ndcg: Double?
        public var recallAt20: Double?
        public var ndcgAt20: Double?
        /// DP-FedAvg: the epsilon spent per silo so far; example-level DP-SGD: the most a silo spent so far.
        public var epsilon: Double?
        public var exampleEpsilon: Double?
        /// Silos whose evaluation was disputed and left out (`RoundRecord.disputes`), one line each.
        public var disputes: [String]
        /// Why earlier attempts at the round were retried.
        public var retries: [String]

        public init(
            round: Int, publishedAt: Date? = nil, seconds: Double, trainSecondsMax: Double, participants: Int, evaluatedClients: Int,
            partialOf: Int? = nil, testAUC: Double? = nil, testLogLoss: Double? = nil, validationAUC: Double? = nil, validationNDCG: Double? = nil,
            hitRate: Double? = nil, ndcg: Double? = nil, recallAt20: Double? = nil, ndcgAt20: Double? = nil, epsilon: Double? = nil,
            exampleEpsilon: Double? = nil, disputes: [String] = [], retries: [String] = []
        ) {
            self.round = round
            self.publishedAt = publishedAt
            self.seconds = seconds
            self.trainSecondsMax = trainSecondsMax
            self.participants = participants
            self.evaluatedClients = evaluatedClients
            self.partialOf = partialOf
            self.testAUC = testAUC
            self.testLogLoss = testLogLoss
            self.validationAUC = validationAUC
            self.validationNDCG = validationNDCG
            self.hitRate = hitRate
            self.ndcg = ndcg
            self.recallAt20 = recallAt20
            self.ndcgAt20 = ndcgAt20
            self.epsilon = epsilon
            self.exampleEpsilon = exampleEpsilon
            self.disputes = disputes
            self.retries = retries
        }

        enum CodingKeys: String, CodingKey {
            case round, seconds, participants, ndcg, epsilon, disputes, retries
            case publishedAt = "published_at"
            case trainSecondsMax = "train_seconds_max"
            case evaluatedClients = "evaluated_clients"
            case partialOf = "partial_of"
            case testAUC = "test_auc"
            case testLogLoss = "test_logloss"
            case validationAUC = "validation_auc"
            case validationNDCG = "validation_ndcg_at_10"
            case hitRate = "hr_at_10"
            case recallAt20 = "recall_at_20"
            case ndcgAt20 = "ndcg_at_20"
            case exampleEpsilon = "example_epsilon"
        }
    }

    /// A silo the coordinator knows: connected now, expected and not connected, or taken off
    /// the allow-list.
    public struct Silo: Sendable, Equatable, Codable {
        public enum State: String, Sendable, Codable {
            /// Its connection is open.
            case connected
            /// Not connected, though the allow-list names it (with `--members`), or (without)
            /// it joined or took part in a round before.
            case missing
            /// Not connected, took part before, and the allow-list no longer names it.
            case removed
        }

        /// Its name, from its certificate: shown escaped, never trusted as markup.
        public var name: String
        public var state: State
        /// Rounds whose aggregate holds its update, and the last of them.
        public var rounds: Int
        public var lastRound: Int?
        /// Example-level DP-SGD: the epsilon it has spent (every round attempt it was asked to
        /// train, at its delta); nil without it, or before it was charged.
        public var epsilon: Double?

        public init(name: String, state: State, rounds: Int = 0, lastRound: Int? = nil, epsilon: Double? = nil) {
            self.name = name
            self.state = state
            self.rounds = rounds
            self.lastRound = lastRound
            self.epsilon = epsilon
        }

        enum CodingKeys: String, CodingKey {
            case name, state, rounds, epsilon
            case lastRound = "last_round"
        }
    }

    /// Differential privacy: what each kind may spend, and DP-FedAvg's spend (the same for every silo).
    public struct Privacy: Sendable, Equatable, Codable {
        /// Example-level DP-SGD runs in the silos (each silo's spend is in `silos`), and the most
        /// epsilon a silo may spend (nil: no budget).
        public var exampleLevel: Bool
        public var exampleBudget: Double?
        /// Client-level DP-FedAvg runs, the epsilon per silo its rounds have spent so far, and
        /// the most they may (nil: no budget).
        public var clientLevel: Bool
        public var clientEpsilon: Double?
        public var clientBudget: Double?

        public init(
            exampleLevel: Bool = false, exampleBudget: Double? = nil, clientLevel: Bool = false, clientEpsilon: Double? = nil,
            clientBudget: Double? = nil
        ) {
            self.exampleLevel = exampleLevel
            self.exampleBudget = exampleBudget
            self.clientLevel = clientLevel
            self.clientEpsilon = clientEpsilon
            self.clientBudget = clientBudget
        }

        enum CodingKeys: String, CodingKey {
            case exampleLevel = "example_level"
            case exampleBudget = "example_budget"
            case clientLevel = "client_level"
            case clientEpsilon = "client_epsilon"
            case clientBudget = "client_budget"
        }
    }

    /// The most-popular baseline (`PopularityBaseline`): the items' counts pooled over the
    /// silos that shared them (in the clear, or as a secure sum), scored by each silo with the
    /// model's ranking protocol.
    public struct Popularity: Sendable, Equatable, Codable {
        /// Where it stands: `PopularityBaseline.Status`'s raw value (pooling, pooled,
        /// secure-aggregation, differential-privacy, no-counts, too-many-items, too-few-silos,
        /// too-many-examples, implausible-sum).
        public var status: String
        /// What `history` prints of it, in one line.
        public var line: String
        /// Its HR@10, NDCG@10, Recall@20 and NDCG@20; nil until some silo scored it.
        public var hitRate: Double?
        public var ndcg: Double?
        public var recallAt20: Double?
        public var ndcgAt20: Double?
        /// The silos whose counts it sums (in the clear; empty under the secure sum), and those
        /// whose sums it adds.
        public var pooledFrom: [String]
        public var scoredBy: [String]
        /// Whether the counts are summed securely, and how many silos' counts the pool holds
        /// (under the secure sum, its shared flags' sum; else `pooledFrom`'s count).
        public var summedSecurely: Bool
        public var sharedBy: Int

        public init(_ baseline: PopularityBaseline) {
            status = baseline.status.rawValue
            line = baseline.line
            let figures = baseline.isMeasured ? baseline.sums : RankingSums()
            hitRate = figures.hitRate
            ndcg = figures.ndcg
            recallAt20 = figures.recallAt20
            ndcgAt20 = figures.ndcgAt20
            pooledFrom = baseline.pooledFrom
            scoredBy = baseline.scoredBy
            summedSecurely = baseline.summedSecurely
            sharedBy = baseline.sharers
        }

        enum CodingKeys: String, CodingKey {
            case status, line, ndcg
            case hitRate = "hr_at_10"
            case recallAt20 = "recall_at_20"
            case ndcgAt20 = "ndcg_at_20"
            case pooledFrom = "pooled_from"
            case scoredBy = "scored_by"
            case summedSecurely = "summed_securely"
            case sharedBy = "shared_by"
        }
    }

    /// The coordinator's certificate (`--cert`, its first): the file, when it expires, and
    /// the whole days left then (rounded down; negative once expired).
    public struct Certificate: Sendable, Equatable, Codable {
        public var file: String
        public var notAfter: Date
        public var daysLeft: Int

        /// As of `time`.
        public init(file: String, notAfter: Date, at time: Date) {
            self.file = file
            self.notAfter = notAfter
            let left = notAfter.timeIntervalSince(time) / 86_400
            daysLeft = Int(left.rounded(.down))
        }

        enum CodingKeys: String, CodingKey {
            case file
            case notAfter = "not_after"
            case daysLeft = "days_left"
        }
    }
}

extension CoordinatorStatus {
    /// The phase in a line, as the page's heading says it: "waiting for 3 clients to join (1
    /// connected)", "round 4 of 20 in progress: training (3 connected)", "complete: 20 rounds,
    /// round 14 kept", "stopping: asked to stop (SIGTERM)".
    public var phaseLine: String {
        let roundOf = "round \(phase.round ?? completedRounds + 1) of \(plannedRounds) in progress"
        switch phase.state {
        case .waiting:
            return "waiting for \(phase.needed) client\(phase.needed == 1 ? "" : "s") to join (\(phase.connected) connected)"
        case .training: return "\(roundOf): training (\(phase.connected) connected)"
        case .securing: return "\(roundOf): secure aggregation (\(phase.connected) connected)"
        case .publishing: return "\(roundOf): aggregating and storing its model"
        case .evaluating: return "\(roundOf): evaluating its model (\(phase.connected) connected)"
        case .complete:
            let count =
                completedRounds < plannedRounds
                ? "\(completedRounds) of the \(plannedRounds) rounds planned (it stopped early)"
                : "\(completedRounds) round\(completedRounds == 1 ? "" : "s")"
            return "complete: \(count), " + (keptRound.map { "round \($0) kept" } ?? "no round kept")
        case .stopping: return "stopping: \(phase.reason ?? "asked to stop")"
        }
    }
}
