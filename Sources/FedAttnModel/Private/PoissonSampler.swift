import RealModule

/// Poisson sampling of a batch: every index of 0..<count is taken independently with
/// probability `rate`, found by jumping geometric gaps (Devroye, "Non-Uniform Random Variate
/// Generation", 1986, ch. X.2), so a batch costs its size in draws, not `count`.
public struct PoissonSampler: Sendable {
    public let count: Int
    public let rate: Double
    private let logMiss: Double

    /// - Precondition: `rate` in (0, 1].
    public init(count: Int, rate: Double) {
        precondition(rate > 0 && rate <= 1, "A sampling rate in (0, 1], got \(rate).")
        self.count = count
        self.rate = rate
        logMiss = rate < 1 ? Double.log(onePlus: -rate) : 0  // exact even when 1 - rate rounds to 1
    }

    /// The indices of one batch, ascending (possibly none).
    public func sample(into batch: inout [Int32], using noise: inout GaussianNoise) {
        batch.removeAll(keepingCapacity: true)
        guard rate < 1 else {
            batch.append(contentsOf: 0..<Int32(count))
            return
        }
        var i = -1
        while true {
            // The gap to the next taken index is geometric: floor(log U / log(1 - q)).
            var u = noise.nextUnit()
            while u == 0 { u = noise.nextUnit() }
            let gap = Double.log(u) / logMiss
            guard gap < Double(count) else { return }
            i += Int(gap) + 1
            guard i < count else { return }
            batch.append(Int32(i))
        }
    }
}
