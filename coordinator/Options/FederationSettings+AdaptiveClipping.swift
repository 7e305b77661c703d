import ArgumentParser
import FedAttnAggregation
import FedAttnFederation

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
        guard coordinator.server.isClientLevelDP else {
            throw ValidationError("--adaptive-clip-quantile (adaptive_clip_quantile) needs --strategy dp-fedavg or --client-dp")
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
        coordinator.server.adaptiveClipping = AdaptiveClipping(
            targetQuantile: quantile, learningRate: rate ?? 0.2, countNoise: sigmaB, expectedClients: max(1, Int(clients)))
    }
}
