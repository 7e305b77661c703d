/// Float vectors into the ring Z_{2^32} and back, so that masked sums can be taken exactly:
/// each value is clipped to [-clip, clip], mapped onto {0, ..., 2^bits - 1} with stochastic
/// rounding (unbiased: the expected quantised value is the clipped value), and summed mod
/// 2^32. With n clients and n (2^bits - 1) < 2^32 the ring sum never wraps, and the
/// dequantised sum is within n * step of the sum of the clipped values, step = 2 clip /
/// (2^bits - 1) (each value rounds by less than one step).
public struct RingQuantizer: Sendable, Hashable {
    public let clip: Float
    public let bits: Int

    /// - Precondition: clip > 0, 1 <= bits <= 31.
    public init(clip: Float, bits: Int) {
        precondition(clip > 0 && clip.isFinite, "A positive clip range.")
        precondition((1...31).contains(bits), "1 to 31 bits, not \(bits).")
        self.clip = clip
        self.bits = bits
    }

    /// The largest level, 2^bits - 1.
    public var levels: UInt32 { UInt32((1 << bits) - 1) }
    /// One quantisation step, in the values' units.
    public var step: Float { 2 * clip / Float(levels) }

    /// The most clients whose sums never wrap: floor((2^32 - 1) / levels).
    public var maxClients: Int { Int(UInt32.max / levels) }

    /// `values` clipped and stochastically rounded onto the levels.
    public func quantize(_ values: [Float], using generator: inout some RandomNumberGenerator) -> [UInt32] {
        let scale = Float(levels) / (2 * clip)
        return values.map { value in
            let clipped = min(max(value.isNaN ? 0 : value, -clip), clip)
            let position = Double((clipped + clip) * scale)
            let floor = position.rounded(.down)
            let up = Double.random(in: 0..<1, using: &generator) < position - floor
            return min(UInt32(floor) + (up ? 1 : 0), levels)
        }
    }

    /// The sum of `clients` quantised vectors, back in the values' units.
    public func dequantizeSum(_ sum: [UInt32], clients: Int) -> [Float] {
        sum.map { Float(Double($0) * Double(step) - Double(clients) * Double(clip)) }
    }

    /// Bits of the smallest ring Z_{2^m} that holds `clients` clients' sum without wrapping:
    /// m = bits + ceil(log2 clients), at most 32. Masked vectors are sent reduced mod 2^m
    /// (2^m divides 2^32, so their sum mod 2^m is unchanged), m bits an element instead of 32.
    public func ringBits(clients: Int) -> Int {
        var extra = 0
        while (1 << extra) < max(clients, 1) { extra += 1 }
        return min(32, bits + extra)
    }

    /// The bound on |dequantised sum - sum of the clipped values| for `clients` clients.
    public func errorBound(clients: Int) -> Float { Float(clients) * step }
}
