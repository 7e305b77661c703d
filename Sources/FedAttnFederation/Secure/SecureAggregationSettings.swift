public import FedAttnSecAgg

/// Secure aggregation's settings (`--secure-aggregation` and the `--secagg-*` flags): SecAgg+
/// (Bonawitz et al., CCS 2017; Bell et al., CCS 2020) over the quantised updates, so that the
/// coordinator learns the round's sum (and which item rows are newly trained), never one silo's.
public struct SecureAggregationSettings: Sendable, Hashable {
    /// Neighbours k each client agrees masks with in the round's Harary graph; 0 picks
    /// min(n - 1, max(4, 2 ceil(log2 n))) for n selected clients.
    public var neighbours: Int
    /// Shares t needed to rebuild a client's secret, among its k neighbours; 0 picks a
    /// majority of the neighbours, k / 2 + 1. A round fails (and is retried) when fewer
    /// than t clients are left at some phase.
    public var threshold: Int
    /// Each weighted update value is clipped to [-clip, clip] before quantisation.
    public var clip: Float
    /// Bits a value is quantised to (stochastic rounding); n clients' sums never wrap while
    /// n (2^bits - 1) < 2^32, so at most floor(2^32 / (2^bits - 1)) clients train a round.
    public var bits: Int
    /// How long each phase after training (share keys, masked indicators, unmask, masked
    /// values, unmask) waits for the clients still in the round.
    public var phaseTimeout: Duration

    public init(neighbours: Int = 0, threshold: Int = 0, clip: Float = 1, bits: Int = 20, phaseTimeout: Duration = .seconds(60)) {
        self.neighbours = neighbours
        self.threshold = threshold
        self.clip = clip
        self.bits = bits
        self.phaseTimeout = phaseTimeout
    }

    /// The quantiser clients use.
    public var quantizer: RingQuantizer { RingQuantizer(clip: clip, bits: bits) }

    /// The most clients a round may select (their ring sum must not wrap).
    public var maxClients: Int { min(quantizer.maxClients, 65_535) }

    /// k for a round of `clients` clients.
    public func neighbourCount(clients: Int) -> Int {
        guard clients > 1 else { return 0 }
        if neighbours > 0 { return min(neighbours, clients - 1) }
        var log2 = 0
        while (1 << log2) < clients { log2 += 1 }
        return min(clients - 1, max(4, 2 * log2))
    }

    /// t for a round of `clients` clients: at most k, at least 2.
    public func threshold(clients: Int) -> Int {
        let k = neighbourCount(clients: clients)
        return max(2, threshold > 0 ? min(threshold, k) : k / 2 + 1)
    }

    /// Refuses settings that cannot work, naming the flag.
    public func validate() throws(CoordinatorError) {
        guard neighbours >= 0 else { throw .invalidRequest("--secagg-neighbours must be 0 (automatic) or more, not \(neighbours)") }
        guard neighbours == 0 || neighbours >= 2 else {
            throw .invalidRequest("--secagg-neighbours must be at least 2 (a client masks with its neighbours), not \(neighbours)")
        }
        guard threshold == 0 || threshold >= 2 else {
            throw .invalidRequest("--secagg-threshold must be 0 (automatic) or at least 2 (one share alone would reveal a secret), not \(threshold)")
        }
        guard neighbours == 0 || threshold <= neighbours else {
            throw .invalidRequest(
                "--secagg-threshold \(threshold) is over --secagg-neighbours \(neighbours): a secret is shared among the neighbours")
        }
        guard clip.isFinite, clip > 0 else { throw .invalidRequest("--secagg-clip must be a positive number, not \(clip)") }
        guard (8...24).contains(bits) else { throw .invalidRequest("--secagg-bits must be in 8...24, not \(bits)") }
        guard phaseTimeout > .zero else { throw .invalidRequest("--secagg-phase-timeout must be positive") }
    }
}
