import ArgumentParser
import FedAttnAggregation
import FedAttnFederation

extension FederationSettings {
    /// Secure aggregation's settings from flags over the file, checked; nil when it is off
    /// (and then no --secagg-* setting may be given).
    func resolveSecureAggregation(_ file: File, _ coordinator: CoordinatorConfig, membershipKnown: Bool) throws -> SecureAggregationSettings? {
        let neighbours = secaggNeighbours ?? file.secaggNeighbours
        let threshold = secaggThreshold ?? file.secaggThreshold
        let clip = secaggClip ?? file.secaggClip
        let bits = secaggBits ?? file.secaggBits
        let timeout = secaggPhaseTimeout ?? file.secaggPhaseTimeout
        guard secureAggregation || file.secureAggregation == true else {
            let stray = [
                (neighbours != nil, "--secagg-neighbours"), (threshold != nil, "--secagg-threshold"), (clip != nil, "--secagg-clip"),
                (bits != nil, "--secagg-bits"), (timeout != nil, "--secagg-phase-timeout"),
            ].first { $0.0 }
            if let stray { throw ValidationError("\(stray.1) needs --secure-aggregation") }
            return nil
        }
        let d = SecureAggregationSettings()
        let settings = SecureAggregationSettings(
            neighbours: neighbours ?? d.neighbours, threshold: threshold ?? d.threshold, clip: clip ?? d.clip, bits: bits ?? d.bits,
            phaseTimeout: timeout.map { .seconds($0) } ?? d.phaseTimeout)
        do { try settings.validate() } catch { throw ValidationError(error.message) }
        // These rules read each update (a median, a pairwise distance, a per-update clip): the
        // coordinator never sees one under secure aggregation.
        let individual: Set<ServerOptimizer.Rule> = [.median, .trimmedMean, .krum, .normBounded, .dpFedAvg]
        guard !coordinator.server.clientLevelDP || coordinator.server.rule == .dpFedAvg else {
            throw ValidationError(
                "--client-dp clips each silo's update, which secure aggregation hides from the coordinator: drop --client-dp "
                    + "(for privacy against what the model reveals, add example-level DP-SGD)")
        }
        guard !individual.contains(coordinator.server.rule) else {
            throw ValidationError(
                "--strategy \(coordinator.server.rule.rawValue) reads each silo's update, which secure aggregation hides from the coordinator: "
                    + "use fednova, fedprox, fedavg, fedavgm, fedadam, fedyogi or fedadagrad (for privacy against what the model reveals, add example-level DP-SGD)"
            )
        }
        guard !membershipKnown || coordinator.minClients >= 3 else {
            throw ValidationError(
                "--secure-aggregation needs --min-clients of 3 or more (it is \(coordinator.minClients)): with fewer, a silo could subtract its own update from the sum and read the others'"
            )
        }
        guard maxUpdateNorm ?? file.maxUpdateNorm == nil else {
            throw ValidationError(
                "--max-update-norm cannot be checked under --secure-aggregation (the coordinator never sees an update); --secagg-clip bounds each value"
            )
        }
        guard coordinator.clientsPerRound == 0 || coordinator.clientsPerRound >= 3 else {
            throw ValidationError("--secure-aggregation needs --clients-per-round of 0 (all) or 3 or more")
        }
        return settings
    }
}
