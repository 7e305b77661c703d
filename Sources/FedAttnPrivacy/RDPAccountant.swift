import Foundation

/// A Rényi differential privacy accountant for the Poisson-subsampled Gaussian mechanism
/// (Mironov, "Rényi Differential Privacy", CSF 2017; Mironov, Talwar and Zhang, "Rényi
/// Differential Privacy of the Sampled Gaussian Mechanism", 2019): each step samples every
/// record with probability `q` and adds Gaussian noise of `noiseMultiplier` times the
/// clipping norm to the sum. RDP composes by addition over steps; an (epsilon, delta)
/// guarantee comes from the best order with the conversion of Canonne, Kamath and Steinke
/// (2020, Proposition 12; also Asoodeh et al. 2020). Add/remove-one neighbouring relation.
/// A pure value: compose steps, then ask for epsilon.
public struct RDPAccountant: Sendable, Equatable {
    /// The Rényi orders tracked: dense near 1, then integers, then a few large ones.
    public static let defaultOrders: [Double] = {
        let nearOne: [Double] = (1..<100).map { 1 + Double($0) / 10 }
        let integers: [Double] = (11..<64).map { Double($0) }
        return nearOne + integers + [128, 256, 512, 1_024]
    }()

    public let orders: [Double]
    /// The RDP at each order so far.
    public private(set) var rdp: [Double]

    public init(orders: [Double] = RDPAccountant.defaultOrders) {
        precondition(orders.allSatisfy { $0 > 1 }, "Rényi orders lie above 1.")
        self.orders = orders
        rdp = [Double](repeating: 0, count: orders.count)
    }

    /// Adds `steps` steps of the Gaussian mechanism with noise multiplier `noiseMultiplier`
    /// (noise standard deviation over L2 sensitivity) on a Poisson sample at rate `q`.
    /// - Precondition: `q` in [0, 1], `noiseMultiplier` >= 0, `steps` >= 0.
    public mutating func compose(samplingRate q: Double, noiseMultiplier sigma: Double, steps: Int) {
        precondition(
            (0...1).contains(q) && sigma >= 0 && steps >= 0, "A sampling rate in [0, 1], a noise multiplier of 0 or more, steps of 0 or more.")
        for (i, alpha) in orders.enumerated() {
            rdp[i] += Double(steps) * Self.rdp(q: q, sigma: sigma, alpha: alpha)
        }
    }

    /// The smallest epsilon of an (epsilon, `delta`) guarantee over the orders, and its order.
    public func epsilon(delta: Double) -> (epsilon: Double, order: Double) {
        precondition(delta > 0 && delta < 1, "delta lies in (0, 1).")
        var best = (epsilon: Double.infinity, order: orders[0])
        for (alpha, r) in zip(orders, rdp) {
            let epsilon: Double
            if r < 0 {
                epsilon = 0
            } else if delta * delta + expm1(-r) > 0 {
                epsilon = 0  // bounded through the KL divergence: delta <= sqrt(1 - exp(-KL))
            } else if alpha > 1.01 {
                epsilon = r + log1p(-1 / alpha) - log(delta * alpha) / (alpha - 1)
            } else {
                epsilon = .infinity
            }
            if epsilon < best.epsilon { best = (epsilon, alpha) }
        }
        return (max(0, best.epsilon), best.order)
    }

    /// The smallest noise multiplier (to 0.1%) for which `steps` steps at sampling rate `q`
    /// stay within (`epsilon`, `delta`): how a target budget becomes a setting. Nil when even
    /// a multiplier of 10,000 is not enough.
    public static func noiseMultiplier(forEpsilon epsilon: Double, delta: Double, samplingRate q: Double, steps: Int) -> Double? {
        precondition(epsilon > 0, "A target epsilon above 0.")
        func spent(_ sigma: Double) -> Double {
            var accountant = RDPAccountant()
            accountant.compose(samplingRate: q, noiseMultiplier: sigma, steps: steps)
            return accountant.epsilon(delta: delta).epsilon
        }
        var (low, high) = (0.0, 1.0)
        while spent(high) > epsilon {
            guard high < 10_000 else { return nil }
            (low, high) = (high, high * 2)
        }
        while high - low > 1e-3 * high {
            let middle = (low + high) / 2
            if spent(middle) > epsilon { low = middle } else { high = middle }
        }
        return high
    }

    /// The RDP of one step at order `alpha`: log(A_alpha) / (alpha - 1).
    static func rdp(q: Double, sigma: Double, alpha: Double) -> Double {
        if q == 0 { return 0 }
        if sigma == 0 || alpha.isInfinite { return .infinity }
        if q == 1 { return alpha / (2 * sigma * sigma) }
        let logA = alpha.rounded() == alpha ? logAInteger(q: q, sigma: sigma, alpha: Int(alpha)) : logAFractional(q: q, sigma: sigma, alpha: alpha)
        return logA / (alpha - 1)
    }

    /// log(A_alpha) for an integer order: a binomial expansion (Mironov et al. 2019, Sec. 3.2).
    static func logAInteger(q: Double, sigma: Double, alpha: Int) -> Double {
        var logA = -Double.infinity
        let (logQ, log1mQ) = (log(q), log1p(-q))
        for i in 0...alpha {
            let term =
                logBinomial(Double(alpha), Double(i)) + Double(i) * logQ + Double(alpha - i) * log1mQ
                + Double(i * i - i) / (2 * sigma * sigma)
            logA = logAdd(logA, term)
        }
        return logA
    }

    /// log(A_alpha) for a fractional order: two series over the Gaussian's halves split at
    /// z0 (Mironov et al. 2019, Sec. 3.3), summed until both shrink below 1e-13 of the total.
    static func logAFractional(q: Double, sigma: Double, alpha: Double) -> Double {
        var (logA0, logA1) = (-Double.infinity, -Double.infinity)
        let z0 = sigma * sigma * log(1 / q - 1) + 0.5
        let (logQ, log1mQ) = (log(q), log1p(-q))
        var (last0, last1) = (-Double.infinity, -Double.infinity)
        for step in 0..<1_000 {
            let i = Double(step), j = alpha - i
            let coefficient = logBinomial(alpha, i)
            let s0 =
                coefficient + i * logQ + j * log1mQ + (i * i - i) / (2 * sigma * sigma) + log(0.5)
                + logErfc((i - z0) / (sqrt(2) * sigma))
            let s1 =
                coefficient + j * logQ + i * log1mQ + (j * j - j) / (2 * sigma * sigma) + log(0.5)
                + logErfc((z0 - j) / (sqrt(2) * sigma))
            logA0 = logAdd(logA0, s0)
            logA1 = logAdd(logA1, s1)
            let total = logAdd(logA0, logA1)
            if s0 < last0 && s1 < last1 && max(s0, s1) < total - 30 { return total }
            (last0, last1) = (s0, s1)
        }
        return .infinity  // did not converge: this order is left out of the minimum
    }

    /// log of the generalised binomial coefficient (n choose k), through log-gamma.
    static func logBinomial(_ n: Double, _ k: Double) -> Double {
        lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)
    }

    static func logAdd(_ x: Double, _ y: Double) -> Double {
        let (a, b) = (min(x, y), max(x, y))
        if a == -.infinity { return b }
        return log1p(exp(a - b)) + b
    }

    /// log(erfc(x)), accurate where erfc underflows (its asymptotic series at infinity).
    static func logErfc(_ x: Double) -> Double {
        let r = erfc(x)
        if r > 1e-300 { return log(r) }
        let x2 = x * x, x4 = x2 * x2
        let series: Double = -0.5 / x2 + 0.625 / x4 - 37.0 / 24.0 / (x4 * x2) + 353.0 / 64.0 / (x4 * x4)
        return -log(Double.pi) / 2 - log(x) - x2 + series
    }
}
