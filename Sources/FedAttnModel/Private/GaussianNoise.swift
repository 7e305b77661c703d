public import FedAttnCore
import RealModule

/// Standard normal draws for DP-SGD's noise: Box-Muller in Double (uniforms of 53 bits, so
/// the tails reach 8.5 standard deviations) over xoshiro256**, rounded to Float.
///
/// The generator is seeded once per trainer from the system's cryptographic generator (see
/// `DPSGDConfig.seed`); xoshiro256** itself is not a cryptographic generator, as in Opacus'
/// default (non-"secure") mode. Box-Muller gives two draws per pair of uniforms; the second
/// is kept for the next call.
struct GaussianNoise {
    private var generator: SeededGenerator
    private var spare: Float?

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// A uniform draw in [0, 1), for sampling.
    mutating func nextUnit() -> Double { generator.nextUnit() }

    mutating func next() -> Float {
        if let spare {
            self.spare = nil
            return spare
        }
        var u1 = generator.nextUnit()
        while u1 == 0 { u1 = generator.nextUnit() }
        let radius = (-2 * Double.log(u1)).squareRoot(), angle = 2 * Double.pi * generator.nextUnit()
        spare = Float(radius * Double.sin(angle))
        return Float(radius * Double.cos(angle))
    }

    /// y[0..<n] += scale * (n standard normal draws).
    mutating func add(scale: Float, to y: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n { y[i] += scale * next() }
    }
}
