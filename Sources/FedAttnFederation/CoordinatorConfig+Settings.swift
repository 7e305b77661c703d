import FedAttnAggregation
public import FedAttnModel

extension CoordinatorConfig {
    /// The settings a report shows, by name, in order: what the round ran with.
    public func settingsTable(model: ModelConfig, strategyName: String) -> [(name: String, value: String)] {
        [
            ("server rule", strategyName), ("rounds", "\(rounds)"), ("patience", patience == 0 ? "none" : "\(patience) rounds"),
            ("clients per round", clientsPerRound == 0 ? "every joined client" : "\(clientsPerRound)"), ("quorum", "\(quorum)"),
            ("local epochs", "\(plan.epochs)"), ("batch size", "\(plan.batchSize)"), ("client learning rate", "\(plan.learningRate)"),
            ("FedProx mu", "\(plan.proximalMu)"), ("items", "\(model.items)"), ("strategies", "\(model.strategies)"),
            ("embedding dimension", "\(model.dim)"), ("history length", "\(model.historyLength)"), ("model seed", "\(plan.seed)"),
        ]
            + (server.rule == .dpFedAvg
                ? [
                    ("DP clip norm", "\(server.clipNorm)"), ("DP noise multiplier", "\(server.noiseMultiplier)"),
                    ("DP delta", server.dpDelta > 0 ? "\(server.dpDelta)" : "1 / \(minClients) silos"),
                ] : [])
    }
}
