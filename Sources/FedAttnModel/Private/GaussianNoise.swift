import FedAttnCore
import RealModule

/// Standard normal draws for DP-SGD's noise, by the ziggurat method (Marsaglia and Tsang,
/// "The Ziggurat Method for Generating Random Variables", J. Stat. Softw. 2000, in the form
/// of Doornik, "An Improved Ziggurat Method to Generate Normal Random Samples", 2005: 128
/// layers, the tail beyond r by Marsaglia's exponential method). Exact in distribution (no
/// truncation: the tail is sampled, not cut), and about 98.8% of draws cost one 64-bit
/// random number and a multiplication, which keeps DP-SGD's noise from dominating a step
/// (Box-Muller's log, sine and cosine cost 5x more here).
///
/// The bits come from xoshiro256**, its 256-bit state drawn once per trainer from the
/// system's cryptographic generator (see `DPSGDConfig.seed`); xoshiro256** itself is not a
/// cryptographic generator,
/// as in Opacus' default (non-"secure") mode.
public struct GaussianNoise: Sendable {
    private var generator: SeededGenerator

    /// Draws repeated from `seed` (tests).
    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// Draws from a 256-bit state taken from the system's cryptographic generator: nobody
    /// else can predict (or subtract) them.
    public init() { generator = .fromSystemRandom() }

    /// A uniform draw in [0, 1), for sampling.
    public mutating func nextUnit() -> Double { generator.nextUnit() }

    /// One standard normal draw.
    @inline(__always) public mutating func next() -> Float {
        let table = Ziggurat.shared
        while true {
            let bits = generator.next()
            let layer = Int(bits & 127)
            // A uniform in (-1, 1) from the top 53 bits, independent of the layer's 7 low bits.
            let u = Double(bits >> 11) * 0x1.0p-52 - 1
            if abs(u) < table.ratio[layer] { return Float(u * table.x[layer]) }
            if layer == 0 { return Float(tail(negative: u < 0)) }
            // The wedge between the layer's rectangle and the curve.
            let x = u * table.x[layer]
            let f0 = Double.exp(-0.5 * (table.x[layer] * table.x[layer] - x * x))
            let f1 = Double.exp(-0.5 * (table.x[layer + 1] * table.x[layer + 1] - x * x))
            if f1 + generator.nextUnit() * (f0 - f1) < 1 { return Float(x) }
        }
    }

    /// A draw from the normal's tail beyond r (Marsaglia 1964).
    private mutating func tail(negative: Bool) -> Double {
        while true {
            let x = Double.log(positiveUnit()) / Ziggurat.r
            let y = Double.log(positiveUnit())
            if -2 * y >= x * x { return negative ? x - Ziggurat.r : Ziggurat.r - x }
        }
    }

    private mutating func positiveUnit() -> Double {
        var u = generator.nextUnit()
        while u == 0 { u = generator.nextUnit() }
        return u
    }

    /// y[0..<n] += scale * (n standard normal draws).
    @inline(__always) public mutating func add(scale: Float, to y: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n { y[i] += scale * next() }
    }
}

/// The ziggurat's 128 layers for the standard normal density's unnormalised form exp(-x^2/2).
private struct Ziggurat: Sendable {
    /// The base layer's right edge, and each layer's area.
    static let r = 3.442619855899
    static let area = 9.91256303526217e-3
    static let shared = Ziggurat()

    /// x[i]: layer i's right edge (x[0] = area / f(r): the base layer as a rectangle;
    /// x[1] = r; x[128] = 0); ratio[i] = x[i + 1] / x[i].
    let x: [Double]
    let ratio: [Double]

    private init() {
        var x = [Double](repeating: 0, count: 129)
        var f = Double.exp(-0.5 * Self.r * Self.r)
        x[0] = Self.area / f
        x[1] = Self.r
        for i in 2..<128 {
            x[i] = (-2 * Double.log(Self.area / x[i - 1] + f)).squareRoot()
            f = Double.exp(-0.5 * x[i] * x[i])
        }
        self.x = x
        ratio = (0..<128).map { x[$0 + 1] / x[$0] }
    }
}
