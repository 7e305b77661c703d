import ArgumentParser
import FedAttnAggregation
import FedAttnCommandLine
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import FedAttnPrivacy
import Foundation

/// The settings of a served federation, from flags over a JSON config file over defaults.
/// The file uses the flags' names in snake case, e.g.
///     {"rounds": 20, "min_clients": 10, "quorum": 8, "round_timeout": 300, "items": "catalogue:1682"}
struct FederationSettings: ParsableArguments {
    /// The defaults, as the library writes them.
    private static let D = CoordinatorConfig()
    /// The command line's client settings where they differ from the library's (BENCHMARK.md's
    /// rate 1e-3, batch 256, FedProx 0.005): trained to rank, 20 rounds reach their best at a
    /// rate of 0.005 over batches of 64 rows, without a proximal term, on MovieLens iid-10 and
    /// dirichlet0.5-10 and the built-in silos alike (docs/ranking.md).
    static let clientDefaults = (learningRate: Float(0.005), batchSize: 64)
    /// The command line keeps the round that recommends best (the library's default is AUC).
    static let defaultSelection = SelectionMetric.ndcg

    @Option(
        name: .long,
        help:
            "A JSON file with any of these settings (snake_case keys: \"min_clients\": 3); for serve, with any of its options too (\"port\", \"cert\", \"state\"; paths relative to the file's folder), but --insecure. Flags override it."
    )
    var config: String?
    @Option(name: .long, help: "Rounds to run (default \(FederationSettings.D.rounds)).") var rounds: Int?
    @Option(name: .long, help: "Clients to wait for before the first round (default \(FederationSettings.D.minClients)).") var minClients: Int?
    @Option(name: .long, help: "Clients per round; 0 takes every joined client (default \(FederationSettings.D.clientsPerRound)).")
    var clientsPerRound: Int?
    @Option(name: .long, help: "The fewest updates a round may close with at its timeout (default \(FederationSettings.D.quorum)).") var quorum: Int?
    @Option(name: .long, help: "Seconds a round waits for updates (default \(FederationSettings.D.roundTimeout.components.seconds)).")
    var roundTimeout: Int?
    @Option(name: .long, help: "Local epochs per round (default \(FederationSettings.D.plan.epochs)).") var localEpochs: Int?
    @Option(name: .long, help: "Clients' Adam learning rate (default \(FederationSettings.clientDefaults.learningRate)).") var learningRate: Float?
    @Option(name: .long, help: "Labelled rows per local step, each with its negatives (default \(FederationSettings.clientDefaults.batchSize)).")
    var batchSize: Int?
    @Option(
        name: .long,
        help:
            "FedProx strength mu: clients add (mu/2)|w - w_global|^2 to their loss (default 0; \(FederationSettings.D.plan.proximalMu) with --strategy fedprox)."
    )
    var proximalMu: Float?
    @Option(
        name: .long,
        help:
            "Training to rank: sampled negatives per clicked train row, items the user has no train row of, labelled 0 (default \(NegativeSampling().count), 0 under example-level DP-SGD; 0: the labelled rows alone)."
    )
    var negatives: Int?
    @Option(
        name: .long,
        help:
            "Negatives are drawn with probability proportional to (train rows of the item)^X: 0 uniform, 1 by popularity (default \(NegativeSampling().exponent))."
    )
    var negativeExponent: Double?
    @Option(
        name: .long,
        help: """
            The server's rule: fednova (FedNova's normalised averaging, Wang et al. 2020: each silo's delta over its local \
            steps, so a silo with more rows, hence more steps, weighs its share and no more; on silos of one size its mean is FedAvg's), \
            fedprox (FedAvg's example-weighted mean with the clients' proximal term, --proximal-mu), fedavg (that mean), \
            fedavgm (server momentum), fedadam, fedyogi or fedadagrad (Reddi et al. 2021), a robust rule: median, \
            trimmed-mean, krum, norm-bounded, or dp-fedavg (client-level DP, --clip-norm and below) (default fednova).
            """)
    var strategy: String?
    @Option(
        name: .long,
        help: """
            The server's learning rate: FedAvg's step along the averaged delta (1 is plain FedAvg), the adaptive rules' eta \
            (default: fedavg, fedprox and fednova 1, fedavgm \(ServerOptimizer.defaultLearningRate(.fedavgm)), fedadam and fedyogi \
            \(ServerOptimizer.defaultLearningRate(.fedadam)), fedadagrad \(ServerOptimizer.defaultLearningRate(.fedadagrad))).
            """)
    var serverLearningRate: Float?
    @Option(name: .long, help: "fedavgm's server momentum (default \(FederationSettings.D.server.momentum)).") var serverMomentum: Float?
    @Option(name: .long, help: "The adaptive rules' beta1 (default \(FederationSettings.D.server.beta1)).") var serverBeta1: Float?
    @Option(name: .long, help: "fedadam's and fedyogi's beta2 (default \(FederationSettings.D.server.beta2)).") var serverBeta2: Float?
    @Option(name: .long, help: "The adaptive rules' tau, the adaptivity (default \(FederationSettings.D.server.tau)).") var serverTau: Float?
    @Option(name: .long, help: "trimmed-mean: the share dropped from each end of each value (default \(FederationSettings.D.server.trimFraction)).")
    var trimFraction: Double?
    @Option(name: .long, help: "krum: the hostile clients it tolerates, f (default \(FederationSettings.D.server.krumByzantine)).")
    var krumByzantine: Int?
    @Option(name: .long, help: "krum: the best-scored updates averaged; 1 is Krum, 0 takes n - f (multi-Krum) (default 0).") var krumSelected: Int?
    @Option(name: .long, help: "norm-bounded: the L2 bound on each update (default \(FederationSettings.D.server.normBound)).") var normBound: Double?
    @Flag(
        name: .long,
        help: """
            Client-level DP (McMahan et al. 2018) around --strategy fedavg, fedavgm, fedadam, fedyogi or fedadagrad: the server \
            clips each update to --clip-norm, adds noise to their sum and hands the noised mean to the rule (DP-FedAdam and the \
            like); --strategy dp-fedavg is fedavg with it. The settings below that name dp-fedavg apply.
            """)
    var clientDp = false
    @Option(name: .long, help: "dp-fedavg: each update's L2 clip norm C (default \(FederationSettings.D.server.clipNorm)).") var clipNorm: Double?
    @Option(name: .long, help: "dp-fedavg: the noise standard deviation over C (default \(FederationSettings.D.server.noiseMultiplier)).")
    var noiseMultiplier: Double?
    @Option(
        name: .long, help: "dp-fedavg: derive the noise multiplier that keeps --rounds within this epsilon per silo (instead of --noise-multiplier).")
    var targetEpsilon: Double?
    @Option(name: .long, help: "dp-fedavg: delta (default, or 0: 1 / --min-clients, the number of silos; weak: give e.g. 1e-5).")
    var dpDelta: Double?
    @Option(
        name: .long,
        help:
            "dp-fedavg with --noise-multiplier: refuse to start when --rounds would spend more than this epsilon per silo, and stop before a round that would (fewer clients connected raise the sampling rate)."
    )
    var epsilonBudget: Double?
    @Option(
        name: .long,
        help:
            "dp-fedavg: adapt the clip norm each round toward this quantile of the updates' norms (Andrew et al. 2021; 0.5: the median), starting from --clip-norm."
    )
    var adaptiveClipQuantile: Double?
    @Option(name: .long, help: "dp-fedavg adaptive clipping: eta of the clip norm's geometric update (default 0.2).")
    var adaptiveClipLearningRate: Double?
    @Option(
        name: .long,
        help: "dp-fedavg adaptive clipping: the noise deviation on the count of unclipped updates (default: the larger of clients / 20 and z).")
    var adaptiveClipCountNoise: Double?
    @Option(name: .long, help: "Example-level DP-SGD in every silo at this noise multiplier (noise deviation over --example-clip-norm).")
    var exampleNoiseMultiplier: Double?
    @Option(
        name: .long,
        help: "Example-level DP-SGD in every silo, each silo's noise multiplier derived so that --rounds spend at most this epsilon (its budget).")
    var exampleTargetEpsilon: Double?
    @Option(name: .long, help: "Example-level DP-SGD: each example's gradient's L2 clip norm (default 1).") var exampleClipNorm: Float?
    @Option(name: .long, help: "Example-level DP-SGD: delta (default 1 / each silo's training examples).") var exampleDelta: Double?
    @Option(name: .long, help: "Example-level DP-SGD: the item table's SGD learning rate (default \(DPSGDConfig.defaultRowLearningRate)).")
    var exampleRowLearningRate: Float?
    @Option(
        name: .long,
        help: "Example-level DP-SGD with --example-noise-multiplier: a silo whose next round would spend more epsilon is no longer asked to train.")
    var exampleEpsilonBudget: Double?
    @Flag(
        name: .long,
        help:
            "Secure aggregation (SecAgg+): the coordinator learns the sum of the silos' updates and which item rows are newly trained, never one silo's update or rows."
    )
    var secureAggregation = false
    @Option(name: .long, help: "Secure aggregation: neighbours each silo masks with (0: min(n - 1, max(4, 2 log2 n)); default 0).")
    var secaggNeighbours: Int?
    @Option(name: .long, help: "Secure aggregation: shares needed to rebuild a silo's secret (0: a majority of its neighbours; default 0).")
    var secaggThreshold: Int?
    @Option(name: .long, help: "Secure aggregation: each weighted update value is clipped to [-clip, clip] (default 1).") var secaggClip: Float?
    @Option(name: .long, help: "Secure aggregation: bits per quantised value, 8...24 (default 20).") var secaggBits: Int?
    @Option(name: .long, help: "Secure aggregation: seconds each phase after training waits (default 60).") var secaggPhaseTimeout: Int?
    @Option(
        name: .long,
        help: "Item id mapping every silo uses: catalogue:N or hash:B (default \(ModelConfig().items); simulate's built-in silos: their own).")
    var items: String?
    @Option(name: .long, help: "Strategies (default \(ModelConfig().strategies); simulate's built-in silos: their own).") var strategies: Int?
    @Option(
        name: .long,
        help:
            "Stop once the validation metric of --select-by has not improved for this many rounds; 0 runs every round (default \(FederationSettings.D.patience))."
    )
    var patience: Int?
    @Option(
        name: .long,
        help:
            "The fewest silos whose item counts the most-popular baseline is pooled from; below it none is handed out (default 3: with two, each could read the other's counts from the pool; 2 is allowed where two partners accept that)."
    )
    var popularityMinSilos: Int?
    @Option(
        name: .long,
        help:
            "What the kept round is chosen by (and --patience counts): auc, the pooled validation AUC of the click head, or ndcg, the validation NDCG@10 of each user's last clicked validation item (default \(FederationSettings.defaultSelection.rawValue), auc under example-level DP-SGD)."
    )
    var selectBy: String?
    @Option(name: .long, help: "Seed of the initial model (default \(FederationSettings.D.plan.seed)).") var seed: UInt64?
    @Option(name: .long, help: "The largest L2 norm an update may have (default \(Int(D.maxUpdateNorm))).") var maxUpdateNorm: Double?
    @Option(name: .long, help: "The largest update payload in bytes (default \(FederationSettings.D.maxUpdateBytes)).") var maxUpdateBytes: Int?
    @Option(name: .long, help: "Seconds one upload may take to arrive whole (default \(FederationSettings.D.uploadTimeout.components.seconds)).")
    var uploadTimeout: Int?
    @Option(
        name: .long,
        help: "The most training examples a client may declare, and so weigh in the average (default \(FederationSettings.D.maxTrainExamples)).")
    var maxTrainExamples: Int?

    /// The same settings as a file holds them.
    struct File: Decodable {
        var rounds: Int?, minClients: Int?, clientsPerRound: Int?, quorum: Int?, roundTimeout: Int?, localEpochs: Int?
        var learningRate: Float?, batchSize: Int?, proximalMu: Float?, serverLearningRate: Float?, items: String?, strategies: Int?
        var negatives: Int?, negativeExponent: Double?
        var patience: Int?, selectBy: String?, popularityMinSilos: Int?
        var strategy: String?, serverMomentum: Float?, serverBeta1: Float?, serverBeta2: Float?, serverTau: Float?
        var trimFraction: Double?, krumByzantine: Int?, krumSelected: Int?, normBound: Double?
        var clipNorm: Double?, noiseMultiplier: Double?, targetEpsilon: Double?, dpDelta: Double?, epsilonBudget: Double?
        var exampleNoiseMultiplier: Double?, exampleTargetEpsilon: Double?, exampleClipNorm: Float?, exampleDelta: Double?
        var exampleRowLearningRate: Float?, exampleEpsilonBudget: Double?
        var adaptiveClipQuantile: Double?, adaptiveClipLearningRate: Double?, adaptiveClipCountNoise: Double?
        var seed: UInt64?, maxUpdateNorm: Double?, maxUpdateBytes: Int?, uploadTimeout: Int?, maxTrainExamples: Int?
        var secureAggregation: Bool?, secaggNeighbours: Int?, secaggThreshold: Int?, secaggClip: Float?, secaggBits: Int?
        var secaggPhaseTimeout: Int?, clientDp: Bool?
    }

    /// The keys of these settings in a --config file: `File`'s properties in snake case.
    static var fileKeys: Set<String> { Set(Mirror(reflecting: File()).children.compactMap { $0.label.map(snakeCase) }) }

    private static func snakeCase(_ name: String) -> String {
        name.reduce(into: "") { out, c in
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
    }

    /// The resolved model and coordinator configuration; errors name the file or flag.
    /// `defaultModel` gives the items and strategies when neither flag nor file does.
    /// `clients`: how many clients will join, when known (a simulation's silos): the default
    /// of --min-clients, and what DP-FedAvg's delta and sampling rate count. `membershipKnown`
    /// false (simulate, before it has read its silos) skips the checks of how many clients
    /// take part. `otherKeys`: the other settings the file may hold (serve's own); a misspelt
    /// key would silently run a default, so any key neither knows is refused.
    func resolve(defaultModel: ModelConfig = ModelConfig(), clients: Int? = nil, membershipKnown: Bool = true, otherKeys: Set<String> = [])
        throws -> (model: ModelConfig, coordinator: CoordinatorConfig)
    {
        var file = File()
        if let config {
            let data = try ConfigFile.read(config)
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            do { file = try decoder.decode(File.self, from: data) } catch { throw ValidationError("\(config): not a valid config file: \(error)") }
            try ConfigFile.refuseUnknownKeys(data, of: config, known: Self.fileKeys.union(otherKeys))
        }
        let itemsText = items ?? file.items ?? defaultModel.items.description
        guard let mapping = ItemMapping(itemsText) else { throw ValidationError("items '\(itemsText)' must be catalogue:N or hash:B") }
        let model = ModelConfig(items: mapping, strategies: strategies ?? file.strategies ?? defaultModel.strategies)
        do { try model.validate() } catch { throw ValidationError("\(error)") }
        // Every default is CoordinatorConfig's and LocalTrainingPlan's own, written once there, but
        // the rule's: the library's ServerOptimizer() is plain FedAvg, the command line's FedNova.
        let d = Self.D
        // FedNova by default: on silos of one size it is FedAvg, on unequal ones it stops the
        // largest from outweighing its share (docs/model-quality.md).
        let strategyName = strategy ?? file.strategy ?? "fednova"
        let isFedProx = strategyName == "fedprox"
        guard let rule = isFedProx ? .fedavg : ServerOptimizer.Rule(rawValue: strategyName) else {
            throw ValidationError(
                "--strategy (strategy) '\(strategyName)' must be one of fednova, fedprox, fedavg, fedavgm, fedadam, fedyogi, fedadagrad, median, trimmed-mean, krum, norm-bounded, dp-fedavg"
                    + (config.map { " (flags or \($0))" } ?? ""))
        }
        var server = ServerOptimizer(
            rule: rule, learningRate: serverLearningRate ?? file.serverLearningRate,
            momentum: serverMomentum ?? file.serverMomentum ?? d.server.momentum,
            beta1: serverBeta1 ?? file.serverBeta1 ?? d.server.beta1, beta2: serverBeta2 ?? file.serverBeta2 ?? d.server.beta2,
            tau: serverTau ?? file.serverTau ?? d.server.tau)
        server.trimFraction = trimFraction ?? file.trimFraction ?? d.server.trimFraction
        server.krumByzantine = krumByzantine ?? file.krumByzantine ?? d.server.krumByzantine
        server.krumSelected = krumSelected ?? file.krumSelected ?? d.server.krumSelected
        server.normBound = normBound ?? file.normBound ?? d.server.normBound
        server.clipNorm = clipNorm ?? file.clipNorm ?? d.server.clipNorm
        server.noiseMultiplier = noiseMultiplier ?? file.noiseMultiplier ?? d.server.noiseMultiplier
        server.dpDelta = dpDelta ?? file.dpDelta ?? d.server.dpDelta
        server.clientLevelDP = clientDp || file.clientDp == true
        if server.clientLevelDP, rule != .dpFedAvg, !ServerOptimizer.clientLevelDPWraps.contains(rule) {
            throw ValidationError(
                "--client-dp (client_dp) wraps --strategy fedavg, fedprox, fedavgm, fedadam, fedyogi or fedadagrad, not \(strategyName): "
                    + "a robust rule reads each update and FedNova weighs by local steps, where client-level DP hands the rule one noised mean"
                    + (config.map { " (flags or \($0))" } ?? ""))
        }
        // Example-level DP-SGD asked for, by flag or file.
        let examplePrivate =
            exampleNoiseMultiplier != nil || exampleTargetEpsilon != nil || file.exampleNoiseMultiplier != nil || file.exampleTargetEpsilon != nil
        let plan = LocalTrainingPlan(
            epochs: localEpochs ?? file.localEpochs ?? d.plan.epochs,
            batchSize: batchSize ?? file.batchSize ?? Self.clientDefaults.batchSize,
            learningRate: learningRate ?? file.learningRate ?? Self.clientDefaults.learningRate, seed: seed ?? file.seed ?? d.plan.seed,
            proximalMu: proximalMu ?? file.proximalMu ?? (isFedProx ? d.plan.proximalMu : 0),
            // The command line trains to rank by default (the library's plan does not), but for
            // example-level DP-SGD: there, at epsilon 8 on iid-10, negatives cost 0.033 of test
            // AUC and still ranked below the most popular items (docs/ranking.md).
            negatives: NegativeSampling(
                count: negatives ?? file.negatives ?? (examplePrivate ? 0 : NegativeSampling().count),
                exponent: negativeExponent ?? file.negativeExponent ?? NegativeSampling().exponent))
        let selectionName = selectBy ?? file.selectBy ?? (examplePrivate ? SelectionMetric.auc : Self.defaultSelection).rawValue
        guard let selection = SelectionMetric(rawValue: selectionName) else {
            throw ValidationError("--select-by (select_by) '\(selectionName)' must be auc or ndcg" + (config.map { " (flags or \($0))" } ?? ""))
        }
        var coordinator = CoordinatorConfig(
            rounds: rounds ?? file.rounds ?? d.rounds, minClients: minClients ?? file.minClients ?? clients ?? d.minClients,
            clientsPerRound: clientsPerRound ?? file.clientsPerRound ?? d.clientsPerRound, quorum: quorum ?? file.quorum ?? d.quorum,
            roundTimeout: (roundTimeout ?? file.roundTimeout).map { .seconds($0) } ?? d.roundTimeout, plan: plan,
            maxUpdateBytes: maxUpdateBytes ?? file.maxUpdateBytes ?? d.maxUpdateBytes,
            server: server,
            maxUpdateNorm: maxUpdateNorm ?? file.maxUpdateNorm ?? d.maxUpdateNorm,
            uploadTimeout: (uploadTimeout ?? file.uploadTimeout).map { .seconds($0) } ?? d.uploadTimeout,
            maxTrainExamples: maxTrainExamples ?? file.maxTrainExamples ?? d.maxTrainExamples, patience: patience ?? file.patience ?? d.patience)
        coordinator.selectBy = selection
        coordinator.popularityMinimumSilos = popularityMinSilos ?? file.popularityMinSilos ?? coordinator.popularityMinimumSilos
        // Each setting by the flag (and config key) that sets it, so the message names it.
        let checks: [(ok: Bool, message: String)] = [
            (coordinator.popularityMinimumSilos >= 2, "--popularity-min-silos (popularity_min_silos) must be at least 2"),
            (coordinator.rounds >= 1, "--rounds (rounds) must be at least 1"),
            (coordinator.patience >= 0, "--patience (patience) must be 0 (run every round) or more"),
            (coordinator.minClients >= 1, "--min-clients (min_clients) must be at least 1"),
            (coordinator.clientsPerRound >= 0, "--clients-per-round (clients_per_round) must be 0 (every client) or more"),
            (coordinator.quorum >= 1, "--quorum (quorum) must be at least 1"),
            (
                coordinator.quorum <= coordinator.minClients,
                "--quorum (quorum) \(coordinator.quorum) is more than --min-clients \(coordinator.minClients): a round could wait for more updates than there are clients"
            ),
            (
                coordinator.clientsPerRound == 0 || coordinator.quorum <= coordinator.clientsPerRound,
                "--quorum (quorum) \(coordinator.quorum) is more than --clients-per-round \(coordinator.clientsPerRound): no round could ever close"
            ),
            (coordinator.roundTimeout > .zero, "--round-timeout (round_timeout) must be at least 1 second"),
            (plan.epochs >= 1, "--local-epochs (local_epochs) must be at least 1"),
            (plan.batchSize >= 1, "--batch-size (batch_size) must be at least 1"),
            (plan.learningRate > 0 && plan.learningRate.isFinite, "--learning-rate (learning_rate) must be a positive number"),
            (plan.proximalMu >= 0 && plan.proximalMu.isFinite, "--proximal-mu (proximal_mu) must be 0 or a positive number"),
            (!isFedProx || plan.proximalMu > 0, "--strategy fedprox needs --proximal-mu (proximal_mu) above 0"),
            (plan.negatives.problem == nil, "--negatives / --negative-exponent (negatives, negative_exponent): \(plan.negatives.problem ?? "")"),
            (server.learningRate > 0 && server.learningRate.isFinite, "--server-learning-rate (server_learning_rate) must be a positive number"),
            (rule != .fedavgm || (server.momentum > 0 && server.momentum < 1), "--server-momentum (server_momentum) must lie in (0, 1)"),
            (server.beta1 >= 0 && server.beta1 < 1, "--server-beta1 (server_beta1) must lie in [0, 1)"),
            (server.beta2 > 0 && server.beta2 < 1, "--server-beta2 (server_beta2) must lie in (0, 1)"),
            (server.tau > 0 && server.tau.isFinite, "--server-tau (server_tau) must be a positive number"),
            (server.trimFraction >= 0 && server.trimFraction < 0.5, "--trim-fraction (trim_fraction) must lie in [0, 0.5)"),
            (server.krumByzantine >= 0, "--krum-byzantine (krum_byzantine) must be 0 or more"),
            (server.krumSelected >= 0, "--krum-selected (krum_selected) must be 0 (n - f) or more"),
            (server.normBound > 0 && server.normBound.isFinite, "--norm-bound (norm_bound) must be a positive number"),
            (model.strategies >= 1, "--strategies (strategies) must be at least 1"),
            (coordinator.maxUpdateNorm > 0, "--max-update-norm (max_update_norm) must be above 0"),
            (coordinator.maxUpdateBytes >= 1, "--max-update-bytes (max_update_bytes) must be at least 1"),
            (coordinator.uploadTimeout > .zero, "--upload-timeout (upload_timeout) must be at least 1 second"),
            (
                (1...CoordinatorConfig.maxDeclarableExamples).contains(coordinator.maxTrainExamples),
                "--max-train-examples (max_train_examples) must be in 1...\(CoordinatorConfig.maxDeclarableExamples)"
            ),
        ]
        if let failed = checks.first(where: { !$0.ok }) { throw ValidationError(failed.message + (config.map { " (flags or \($0))" } ?? "")) }
        var resolved = coordinator
        // DP-FedAvg's settings without it would leave a run the operator thinks private as it is not.
        if !server.isClientLevelDP {
            let stray = [
                ((noiseMultiplier ?? file.noiseMultiplier) != nil, "--noise-multiplier (noise_multiplier)"),
                ((clipNorm ?? file.clipNorm) != nil, "--clip-norm (clip_norm)"), ((dpDelta ?? file.dpDelta) != nil, "--dp-delta (dp_delta)"),
            ].first { $0.0 }
            if let stray {
                throw ValidationError(
                    "\(stray.1) needs --strategy dp-fedavg or --client-dp (client-level DP); for example-level DP-SGD give --example-noise-multiplier or --example-target-epsilon"
                )
            }
        }
        try resolvePrivacy(
            &resolved, target: targetEpsilon ?? file.targetEpsilon, budget: epsilonBudget ?? file.epsilonBudget,
            given: (noiseMultiplier ?? file.noiseMultiplier) != nil)
        try resolveAdaptiveClipping(&resolved, file)
        resolved.examplePrivacy = try resolveExamplePrivacy(file)
        resolved.secureAggregation = try resolveSecureAggregation(file, resolved, membershipKnown: membershipKnown)
        return (model, resolved)
    }

    /// DP-FedAvg's settings checked, and a target epsilon turned into the noise multiplier
    /// that keeps every round within it (refusing to start when none does).
    private func resolvePrivacy(_ coordinator: inout CoordinatorConfig, target: Double?, budget: Double?, given: Bool) throws {
        let server = coordinator.server
        guard server.isClientLevelDP else {
            if target != nil { throw ValidationError("--target-epsilon (target_epsilon) needs --strategy dp-fedavg or --client-dp") }
            if budget != nil { throw ValidationError("--epsilon-budget (epsilon_budget) needs --strategy dp-fedavg or --client-dp") }
            return
        }
        guard server.clipNorm > 0, server.clipNorm.isFinite else { throw ValidationError("--clip-norm (clip_norm) must be a positive number") }
        guard server.noiseMultiplier > 0, server.noiseMultiplier.isFinite else {
            throw ValidationError(
                "--noise-multiplier (noise_multiplier) must be a positive number (without noise there is no privacy: --strategy norm-bounded clips alone)"
            )
        }
        guard server.dpDelta >= 0, server.dpDelta < 1 else { throw ValidationError("--dp-delta (dp_delta) must lie in (0, 1), or 0 for 1 / silos") }
        // Every silo connected, as planned.
        let (q, delta) = coordinator.privacyAccounting(connected: max(coordinator.minClients, 2))
        if let budget {
            guard budget > 0, budget.isFinite else { throw ValidationError("--epsilon-budget (epsilon_budget) must be a positive number") }
            let spent = coordinator.privacySpent(rounds: coordinator.rounds, connected: max(coordinator.minClients, 2)) ?? .infinity
            guard spent <= budget else {
                throw ValidationError(
                    "\(coordinator.rounds) rounds at noise multiplier \(server.noiseMultiplier) would spend epsilon \(String(format: "%.3f", spent)) "
                        + "per silo, over the budget of \(budget): run fewer --rounds, more noise, or --target-epsilon \(budget)")
            }
            coordinator.clientEpsilonBudget = budget
        }
        guard let target else { return }
        guard !given else { throw ValidationError("give --target-epsilon or --noise-multiplier, not both") }
        guard budget == nil else { throw ValidationError("--epsilon-budget goes with --noise-multiplier: a target epsilon is its own budget") }
        guard target > 0, target.isFinite else { throw ValidationError("--target-epsilon (target_epsilon) must be a positive number") }
        guard let sigma = RDPAccountant.noiseMultiplier(forEpsilon: target, delta: delta, samplingRate: q, steps: coordinator.rounds) else {
            throw ValidationError("no noise multiplier up to 10,000 keeps \(coordinator.rounds) rounds within epsilon \(target) (delta \(delta))")
        }
        coordinator.server.noiseMultiplier = sigma
        coordinator.clientEpsilonBudget = target  // a target is its own budget: fewer clients connected stop the run
    }
}
