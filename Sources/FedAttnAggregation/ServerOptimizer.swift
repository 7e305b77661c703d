/// The server's update rule and its settings, as a coordinator's configuration names them:
/// FedAvg (McMahan et al., 2017), FedAvgM (Hsu et al., 2019), FedNova (Wang et al., 2020),
/// and the adaptive FedAdam, FedYogi and FedAdagrad (Reddi et al., 2021). (FedProx is FedAvg on the server with a
/// proximal term in the clients' loss: `LocalTrainingPlan.proximalMu`.)
public struct ServerOptimizer: Sendable, Equatable {
    public enum Rule: String, Sendable, CaseIterable {
        case fedavg, fedavgm, fedadam, fedyogi, fedadagrad
        /// FedAvg's step over FedNova's normalised mean (`UpdateAccumulator.Weighting.normalized`).
        case fednova
        /// Robust rules (`RobustAggregation`).
        case median
        case trimmedMean = "trimmed-mean"
        case krum
        case normBounded = "norm-bounded"
        /// Client-level DP-FedAvg (`DPFedAvg`).
        case dpFedAvg = "dp-fedavg"
    }

    public var rule: Rule
    /// The server's learning rate: FedAvg's step along the mean delta (1 is plain FedAvg),
    /// the adaptive rules' eta.
    public var learningRate: Float
    /// FedAvgM's server momentum.
    public var momentum: Float
    /// The adaptive rules' first- and second-moment decay (beta2 unused by FedAdagrad).
    public var beta1: Float
    public var beta2: Float
    /// The adaptive rules' tau (adaptivity).
    public var tau: Float
    /// The trimmed mean's share dropped from each end of each coordinate's values.
    public var trimFraction: Double = 0.1
    /// Krum's tolerated hostile clients f, and the updates it averages (0: n - f, multi-Krum).
    public var krumByzantine: Int = 1
    public var krumSelected: Int = 0
    /// The norm-bounded rule's L2 bound on each update.
    public var normBound: Double = 1
    /// DP-FedAvg's clip norm C and noise multiplier z (noise standard deviation z C on the sum).
    public var clipNorm: Double = 1
    public var noiseMultiplier: Double = 1
    /// DP-FedAvg's delta; 0 takes 1 / the number of silos.
    public var dpDelta: Double = 0
    /// DP-FedAvg's adaptive clipping, if on: `clipNorm` is then where the clip norm starts.
    public var adaptiveClipping: AdaptiveClipping? = nil
    /// Client-level DP around `rule` (`DPFedAvg(wrapping:)`): fedavg, fedavgm, fedadam,
    /// fedyogi or fedadagrad take the noised mean of the clipped updates. `dp-fedavg` is
    /// fedavg with it on. Another rule with it on is a precondition failure in `makeStrategy`:
    /// check `clientLevelDPWraps` first (the command line refuses it with a message).
    public var clientLevelDP = false

    /// Whether the server adds client-level DP (`dp-fedavg`, or `clientLevelDP` around another
    /// rule): what the coordinator's accountant and Poisson sampling follow.
    public var isClientLevelDP: Bool { rule == .dpFedAvg || clientLevelDP }

    /// The rules client-level DP may wrap: those that read the round's mean alone (a robust
    /// rule reads each update, and FedNova weighs by local steps; both would get one update).
    public static let clientLevelDPWraps: Set<Rule> = [.fedavg, .fedavgm, .fedadam, .fedyogi, .fedadagrad]

    /// `learningRate` nil takes the rule's default (`defaultLearningRate`).
    public init(rule: Rule = .fedavg, learningRate: Float? = nil, momentum: Float = 0.9, beta1: Float = 0.9, beta2: Float = 0.99, tau: Float = 1e-4) {
        self.rule = rule
        self.learningRate = learningRate ?? Self.defaultLearningRate(rule)
        self.momentum = momentum
        self.beta1 = beta1
        self.beta2 = beta2
        self.tau = tau
    }

    /// The learning rate a rule starts from when none is given (tuned on MovieLens-100k
    /// iid-10 and dirichlet0.5-10, docs/server-optimisers.md).
    public static func defaultLearningRate(_ rule: Rule) -> Float {
        switch rule {
        case .fedavg, .fednova, .median, .trimmedMean, .krum, .normBounded, .dpFedAvg: 1
        case .fedavgm: 0.3
        case .fedadam, .fedyogi: 0.01
        case .fedadagrad: 0.1
        }
    }

    /// How the round's updates weigh in its mean: FedNova's normalised averaging for
    /// `fednova`, examples for every other rule.
    public var weighting: UpdateAccumulator.Weighting { rule == .fednova ? .normalized : .examples }

    /// A fresh strategy of these settings (no state): the rule, wrapped in client-level DP
    /// when `isClientLevelDP`.
    public func makeStrategy() -> any Strategy {
        guard isClientLevelDP else { return makeRule(rule) }
        precondition(rule == .dpFedAvg || Self.clientLevelDPWraps.contains(rule), "Client-level DP wraps \(Self.clientLevelDPWraps), not \(rule).")
        return DPFedAvg(
            wrapping: makeRule(rule == .dpFedAvg ? .fedavg : rule), clipNorm: clipNorm, noiseMultiplier: noiseMultiplier, adaptive: adaptiveClipping)
    }

    private func makeRule(_ rule: Rule) -> any Strategy {
        switch rule {
        case .fedavg: FedAvg(serverLearningRate: learningRate)
        case .fednova: FedAvg(serverLearningRate: learningRate, label: "fednova")
        case .fedavgm: FedAvg(serverLearningRate: learningRate, momentum: momentum)
        case .fedadam: FedOpt(rule: .adam, learningRate: learningRate, beta1: beta1, beta2: beta2, tau: tau)
        case .fedyogi: FedOpt(rule: .yogi, learningRate: learningRate, beta1: beta1, beta2: beta2, tau: tau)
        case .fedadagrad: FedOpt(rule: .adagrad, learningRate: learningRate, beta1: beta1, beta2: beta2, tau: tau)
        case .median: RobustAggregation(rule: .median, learningRate: learningRate)
        case .trimmedMean: RobustAggregation(rule: .trimmedMean(fraction: trimFraction), learningRate: learningRate)
        case .krum: RobustAggregation(rule: .krum(byzantine: krumByzantine, selected: krumSelected), learningRate: learningRate)
        case .normBounded: RobustAggregation(rule: .normBounded(bound: normBound), learningRate: learningRate)
        case .dpFedAvg: FedAvg(serverLearningRate: learningRate)  // what makeStrategy wraps
        }
    }
}
