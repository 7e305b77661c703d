import FedAttnAggregation
public import FedAttnModel
import FedAttnPrivacy

extension CoordinatorConfig {
    /// The settings a report shows, by name, in order: what the round ran with.
    public func settingsTable(model: ModelConfig, strategyName: String) -> [(name: String, value: String)] {
        [
            ("server rule", strategyName), ("rounds", "\(rounds)"), ("patience", patience == 0 ? "none" : "\(patience) rounds"),
            ("keep the round by", selectBy.settingName),
            ("clients per round", clientsPerRound == 0 ? "every joined client" : "\(clientsPerRound)"), ("quorum", "\(quorum)"),
            ("local epochs", "\(plan.epochs)"), ("batch size", "\(plan.batchSize)"), ("client learning rate", "\(plan.learningRate)"),
            ("FedProx mu", "\(plan.proximalMu)"), ("negatives per click", negativesSetting),
            ("items", "\(model.items)"), ("strategies", "\(model.strategies)"),
            ("embedding dimension", "\(model.dim)"), ("history length", "\(model.historyLength)"), ("model seed", "\(plan.seed)"),
        ]
            + (server.isClientLevelDP
                ? [
                    ("DP clip norm", "\(server.clipNorm)"), ("DP noise multiplier", "\(server.noiseMultiplier)"),
                    ("DP delta", server.dpDelta > 0 ? "\(server.dpDelta)" : "1 / \(minClients) silos"),
                ] : [])
            + (server.isClientLevelDP
                ? server.adaptiveClipping.map {
                    [("DP adaptive clipping", "quantile \($0.targetQuantile), eta \($0.learningRate), count noise \($0.countNoise)")]
                } ?? [] : [])
            + (secureAggregation.map { g in
                [
                    (
                        "secure aggregation",
                        "SecAgg+, neighbours \(g.neighbours == 0 ? "auto" : "\(g.neighbours)"), threshold \(g.threshold == 0 ? "auto" : "\(g.threshold)"), clip \(g.clip), \(g.bits) bits"
                    )
                ]
            } ?? [])
            + (examplePrivacy.map { p in
                let noise: String
                switch p.noise {
                case .multiplier(let sigma): noise = "noise multiplier \(sigma)"
                case .targetEpsilon(let epsilon): noise = "target epsilon \(epsilon) per silo"
                }
                return [
                    ("example-level DP-SGD", noise + (p.epsilonBudget.map { ", budget epsilon \($0)" } ?? "")),
                    ("DP-SGD clip norm, row rate", "\(p.clipNorm), \(p.rowLearningRate)"),
                    ("DP-SGD delta", p.delta.map { "\($0)" } ?? "1 / each silo's training examples"),
                ]
            } ?? [])
    }
}

extension CoordinatorConfig {
    /// DP-FedAvg's accounting with `connected` clients: one step a round at sampling rate
    /// clients per round / connected (1 when every client takes part), and delta as set or
    /// 1 / the number of silos. Rounds select a fixed number of clients, accounted as Poisson
    /// sampling at the same rate, as TensorFlow Federated and Opacus do.
    public func privacyAccounting(connected: Int) -> (samplingRate: Double, delta: Double) {
        let q = clientsPerRound == 0 ? 1 : min(1, Double(clientsPerRound) / Double(max(connected, 1)))
        return (q, server.dpDelta > 0 ? server.dpDelta : 1 / Double(max(minClients, 2)))
    }

    /// The epsilon per silo that `rounds` DP-FedAvg rounds spend with `connected` clients at
    /// the configured noise multiplier (nil when infinite).
    public func privacySpent(rounds: Int, connected: Int) -> Double? {
        privacySpent(samplingRates: Array(repeating: privacyAccounting(connected: connected).samplingRate, count: rounds))
    }

    /// The epsilon per silo that DP-FedAvg rounds at these sampling rates spend, one step
    /// each (nil when infinite).
    public func privacySpent(samplingRates: [Double]) -> Double? {
        var accountant = RDPAccountant()
        for q in samplingRates { accountant.compose(samplingRate: q, noiseMultiplier: server.noiseMultiplier, steps: 1) }
        let spent = accountant.epsilon(delta: privacyAccounting(connected: minClients).delta).epsilon
        return spent.isFinite ? spent : nil
    }

    /// The plan's sampled negatives, as the settings table shows them.
    private var negativesSetting: String {
        plan.negatives.count == 0 ? "none" : "\(plan.negatives.count), exponent \(plan.negatives.exponent)"
    }
}

extension SelectionMetric {
    /// How the settings table (and a state folder's settings.json) names it.
    public var settingName: String { self == .auc ? "validation AUC" : "validation NDCG@10" }

    /// The metric a state folder's settings name (`settingName`); AUC when none is recorded
    /// (a folder written before ranking could be chosen by).
    public init(settingName: String?) {
        self = settingName == SelectionMetric.ndcg.settingName || settingName == SelectionMetric.ndcg.rawValue ? .ndcg : .auc
    }
}
