public import Crypto
import Foundation

/// The masks of secure aggregation: a 32-byte seed expanded into a vector of ring elements
/// (UInt32, arithmetic mod 2^32) by ChaCha20's keystream (ChaChaPoly sealing zeros under the
/// seed, nonce zero: a seed is used for one round only), so that a mask is uniform and
/// whoever holds the seed, and only they, can recompute it.
public enum MaskGenerator {
    /// `count` ring elements expanded from `seed` (32 bytes).
    public static func mask(seed: SymmetricKey, count: Int) -> [UInt32] {
        let zeros = Data(count: count * 4)
        // Sealing cannot fail for a 256-bit key and a 12-byte nonce.
        let box = try! ChaChaPoly.seal(zeros, using: seed, nonce: try! ChaChaPoly.Nonce(data: Data(count: 12)))
        return box.ciphertext.withUnsafeBytes { raw in
            (0..<count).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
        }
    }

    /// y += sign * mask(seed), element-wise mod 2^32.
    public static func apply(seed: SymmetricKey, sign: Int, to y: inout [UInt32]) {
        let m = mask(seed: seed, count: y.count)
        if sign >= 0 {
            for i in y.indices { y[i] &+= m[i] }
        } else {
            for i in y.indices { y[i] &-= m[i] }
        }
    }
}
