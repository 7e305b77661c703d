/// A small, fast, seedable random number generator (xoshiro256**), so that a run is
/// repeatable from its seed on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Expands `seed` with SplitMix64, as the xoshiro authors recommend.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// A generator whose whole 256-bit state is `state` (e.g. four draws of the system's
    /// cryptographic generator). - Precondition: not all zero.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state != (0, 0, 0, 0), "xoshiro's state must not be all zero.")
        (s0, s1, s2, s3) = state
    }

    /// A generator whose whole state comes from the system's cryptographic generator (four
    /// draws): fast draws nobody else can predict from outside, without a system call each.
    public static func fromSystemRandom() -> SeededGenerator {
        var system = SystemRandomNumberGenerator()
        var state = (system.next(), system.next(), system.next(), system.next())
        while state == (0, 0, 0, 0) { state.0 = system.next() }
        return SeededGenerator(state: state)
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform Double in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal sample (Box-Muller).
    public mutating func nextNormal() -> Double {
        var u1 = nextUnit()
        while u1 <= .leastNormalMagnitude { u1 = nextUnit() }
        let u2 = nextUnit()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * .pi * u2)
    }

    /// A Gamma(shape, 1) sample (Marsaglia-Tsang), used for Dirichlet draws.
    public mutating func nextGamma(shape: Double) -> Double {
        precondition(shape > 0, "Gamma shape must be positive, got \(shape).")
        if shape < 1 {
            // Boost: Gamma(a) = Gamma(a + 1) * U^(1/a).
            return nextGamma(shape: shape + 1) * _pow(nextUnit(), 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = nextNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = nextUnit()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if _log(u) < 0.5 * x * x + d * (1 - v + _log(v)) { return d * v }
        }
    }

    /// Proportions drawn from a symmetric Dirichlet(alpha) over `count` categories.
    public mutating func nextDirichlet(alpha: Double, count: Int) -> [Double] {
        var draws = (0..<count).map { _ in nextGamma(shape: alpha) }
        let total = draws.reduce(0, +)
        if total > 0 { for i in draws.indices { draws[i] /= total } }
        return draws
    }
}
