import ArgumentParser
import FedAttnAggregation
import FedAttnFederation
import FedAttnModel

extension FederationSettings {
    /// Example-level DP-SGD's settings from flags over the file, checked; nil when neither
    /// a noise multiplier nor a target epsilon asks for it.
    func resolveExamplePrivacy(_ file: File) throws -> ExamplePrivacy? {
        let multiplier = exampleNoiseMultiplier ?? file.exampleNoiseMultiplier
        let target = exampleTargetEpsilon ?? file.exampleTargetEpsilon
        let clipNorm = exampleClipNorm ?? file.exampleClipNorm
        let delta = exampleDelta ?? file.exampleDelta
        let rowRate = exampleRowLearningRate ?? file.exampleRowLearningRate
        let budget = exampleEpsilonBudget ?? file.exampleEpsilonBudget
        let noise: ExamplePrivacy.Noise
        switch (multiplier, target) {
        case (nil, nil):
            let stray = [
                (clipNorm != nil, "--example-clip-norm"), (delta != nil, "--example-delta"), (rowRate != nil, "--example-row-learning-rate"),
                (budget != nil, "--example-epsilon-budget"),
            ].first { $0.0 }
            if let stray { throw ValidationError("\(stray.1) needs --example-noise-multiplier or --example-target-epsilon") }
            return nil
        case (.some, .some): throw ValidationError("give --example-noise-multiplier or --example-target-epsilon, not both")
        case (let sigma?, nil):
            guard sigma > 0, sigma.isFinite else {
                throw ValidationError(
                    "--example-noise-multiplier (example_noise_multiplier) must be a positive number (without noise there is no privacy)")
            }
            noise = .multiplier(sigma)
        case (nil, let epsilon?):
            guard epsilon > 0, epsilon.isFinite else {
                throw ValidationError("--example-target-epsilon (example_target_epsilon) must be a positive number")
            }
            guard budget == nil else {
                throw ValidationError("--example-epsilon-budget goes with --example-noise-multiplier: a target epsilon is its own budget")
            }
            noise = .targetEpsilon(epsilon)
        }
        if let delta, !(delta > 0 && delta < 1) { throw ValidationError("--example-delta (example_delta) must lie in (0, 1)") }
        if let budget, !(budget > 0 && budget.isFinite) {
            throw ValidationError("--example-epsilon-budget (example_epsilon_budget) must be a positive number")
        }
        let privacy = ExamplePrivacy(
            noise: noise, clipNorm: clipNorm ?? 1, rowLearningRate: rowRate ?? DPSGDConfig.defaultRowLearningRate, delta: delta, epsilonBudget: budget
        )
        do { try privacy.trainingConfig(noiseMultiplier: 1).validate() } catch {
            throw ValidationError("example-level DP-SGD: \(error.description)")
        }
        return privacy
    }
}

extension FederationSettings {
    /// DP-FedAvg's adaptive clipping from flags over the file, checked against the noise
    /// multiplier it shares (run after the noise multiplier is resolved).
    func resolveAdaptiveClipping(_ coordinator: inout CoordinatorConfig, _ file: File) throws {
        let quantile = adaptiveClipQuantile ?? file.adaptiveClipQuantile
        let rate = adaptiveClipLearningRate ?? file.adaptiveClipLearningRate
        let countNoise = adaptiveClipCountNoise ?? file.adaptiveClipCountNoise
        guard let quantile else {
            if rate != nil || countNoise != nil {
                throw ValidationError("--adaptive-clip-learning-rate and --adaptive-clip-count-noise need --adaptive-clip-quantile")
            }
            return
        }
        guard coordinator.server.rule == .dpFedAvg else {
            throw ValidationError("--adaptive-clip-quantile (adaptive_clip_quantile) needs --strategy dp-fedavg")
        }
        guard quantile > 0, quantile < 1 else { throw ValidationError("--adaptive-clip-quantile (adaptive_clip_quantile) must lie in (0, 1)") }
        if let rate, !(rate > 0 && rate.isFinite) {
            throw ValidationError("--adaptive-clip-learning-rate (adaptive_clip_learning_rate) must be a positive number")
        }
        let z = coordinator.server.noiseMultiplier
        let clients = Double(coordinator.clientsPerRound > 0 ? coordinator.clientsPerRound : coordinator.minClients)
        let sigmaB = countNoise ?? max(clients / 20, z)
        guard sigmaB > z / 2, sigmaB.isFinite else {
            throw ValidationError(
                "--adaptive-clip-count-noise (adaptive_clip_count_noise) \(sigmaB) must exceed half the noise multiplier (\(z / 2)): the count shares z with the sum"
            )
        }
        coordinator.server.adaptiveClipping = AdaptiveClipping(targetQuantile: quantile, learningRate: rate ?? 0.2, countNoise: sigmaB)
    }
}
