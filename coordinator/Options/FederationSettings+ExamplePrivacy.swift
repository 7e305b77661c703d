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
        if let clipNorm, !(clipNorm > 0 && clipNorm.isFinite) {
            throw ValidationError("--example-clip-norm (example_clip_norm) must be a positive number")
        }
        if let rowRate, !(rowRate > 0 && rowRate.isFinite) {
            throw ValidationError("--example-row-learning-rate (example_row_learning_rate) must be a positive number")
        }
        return privacy
    }
}
