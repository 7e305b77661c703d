/// Shamir's t-of-n secret sharing (Shamir, "How to Share a Secret", CACM 1979) of 32-byte
/// secrets over the prime field GF(2^61 - 1).
///
/// A secret is cut into five chunks of at most 7 bytes (each below 2^56, so a field element),
/// and each chunk is the constant term of its own random polynomial of degree t - 1; holder
/// x (1, 2, ...) gets the five polynomials' values at x. Any t shares give the secret back by
/// Lagrange interpolation at 0; fewer tell nothing about it.
public enum ShamirSharing {
    /// The field's modulus, the Mersenne prime 2^61 - 1.
    public static let prime: UInt64 = (1 << 61) - 1
    /// Bytes of a secret.
    public static let secretBytes = 32
    static let chunkBytes = 7
    public static let chunks = (secretBytes + chunkBytes - 1) / chunkBytes

    /// One holder's share: the holder's point x and the polynomials' values there.
    public struct Share: Sendable, Hashable, Codable {
        public let x: UInt64
        public let values: [UInt64]

        public init(x: UInt64, values: [UInt64]) {
            self.x = x
            self.values = values
        }
    }

    /// Shares of `secret` (32 bytes) for `holders` (distinct points in 1..<prime), any
    /// `threshold` of which recover it.
    /// - Precondition: 1 <= threshold <= holders.count, 32 bytes, distinct non-zero points.
    public static func split(_ secret: [UInt8], threshold: Int, holders: [UInt64]) -> [Share] {
        precondition(secret.count == secretBytes, "A secret is \(secretBytes) bytes, not \(secret.count).")
        precondition(threshold >= 1 && threshold <= holders.count, "A threshold in 1...\(holders.count), not \(threshold).")
        precondition(Set(holders).count == holders.count && holders.allSatisfy { $0 > 0 && $0 < prime }, "Distinct non-zero holder points.")
        var generator = SystemRandomNumberGenerator()
        let polynomials = encode(secret).map { constant in
            [constant] + (1..<threshold).map { _ in UInt64.random(in: 0..<prime, using: &generator) }
        }
        return holders.map { x in Share(x: x, values: polynomials.map { evaluate($0, at: x) }) }
    }

    /// The secret `shares` (at least the threshold's number, from distinct holders) recover.
    /// - Throws: `SecAggError.malformedShare` when the shares are inconsistent in shape or
    ///   recover something that is not a secret (a forged or mismatched share).
    public static func combine(_ shares: [Share]) throws(SecAggError) -> [UInt8] {
        guard !shares.isEmpty, Set(shares.map(\.x)).count == shares.count,
            shares.allSatisfy({ $0.values.count == chunks && $0.x > 0 && $0.x < prime && $0.values.allSatisfy { $0 < prime } })
        else { throw .malformedShare("shares must come from distinct holders and hold \(chunks) field elements each") }
        // Lagrange at 0: secret = sum_i y_i prod_{j != i} x_j / (x_j - x_i).
        var chunkValues = [UInt64](repeating: 0, count: chunks)
        for (i, share) in shares.enumerated() {
            var numerator: UInt64 = 1, denominator: UInt64 = 1
            for (j, other) in shares.enumerated() where j != i {
                numerator = multiply(numerator, other.x)
                denominator = multiply(denominator, subtract(other.x, share.x))
            }
            let weight = multiply(numerator, inverse(denominator))
            for c in 0..<chunks { chunkValues[c] = add(chunkValues[c], multiply(share.values[c], weight)) }
        }
        return try decode(chunkValues)
    }

    // MARK: Chunks

    static func encode(_ secret: [UInt8]) -> [UInt64] {
        (0..<chunks).map { c in
            let bytes = secret[(c * chunkBytes)..<min(secretBytes, (c + 1) * chunkBytes)]
            return bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
    }

    static func decode(_ values: [UInt64]) throws(SecAggError) -> [UInt8] {
        var secret: [UInt8] = []
        for (c, value) in values.enumerated() {
            let count = min(secretBytes, (c + 1) * chunkBytes) - c * chunkBytes
            guard value >> (8 * count) == 0 else { throw .malformedShare("the shares do not recover a secret (inconsistent shares)") }
            secret += (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        }
        return secret
    }

    // MARK: GF(2^61 - 1)

    static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let sum = a + b  // < 2^62: no overflow
        return sum >= prime ? sum - prime : sum
    }

    static func subtract(_ a: UInt64, _ b: UInt64) -> UInt64 { a >= b ? a - b : a + prime - b }

    static func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        // a b = high 2^64 + low, and 2^61 = 1 (mod p): fold the 122-bit product in 61-bit pieces.
        let (high, low) = a.multipliedFullWidth(by: b)
        var folded = (low & prime) + (low >> 61) + (high << 3)
        folded = (folded & prime) + (folded >> 61)
        return folded >= prime ? folded - prime : folded
    }

    static func inverse(_ a: UInt64) -> UInt64 {
        // Fermat: a^(p - 2). a is never 0 here: holder points are distinct.
        var result: UInt64 = 1, base = a, exponent = prime - 2
        while exponent > 0 {
            if exponent & 1 == 1 { result = multiply(result, base) }
            base = multiply(base, base)
            exponent >>= 1
        }
        return result
    }

    static func evaluate(_ coefficients: [UInt64], at x: UInt64) -> UInt64 {
        coefficients.reversed().reduce(0) { add(multiply($0, x), $1) }  // Horner
    }
}
