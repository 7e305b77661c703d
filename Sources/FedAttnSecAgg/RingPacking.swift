public import Foundation

/// Masked vectors on the wire (protocol 8): elements of `bits` bits packed little-endian,
/// element i being bits [i bits, (i + 1) bits) of the bytes read as one little-endian
/// integer. The values' ring needs only `RingQuantizer.ringBits` bits, not 32.
public enum RingPacking {
    /// Bytes of `count` elements of `bits` bits.
    public static func byteCount(count: Int, bits: Int) -> Int { (count * bits + 7) / 8 }

    /// `values` (each below 2^bits) packed: element i is bits [i bits, (i + 1) bits) of the
    /// bytes read as one little-endian integer.
    public static func pack(_ values: [UInt32], bits: Int) -> Data {
        var bytes = [UInt8](repeating: 0, count: byteCount(count: values.count, bits: bits))
        var buffer: UInt64 = 0
        var held = 0, at = 0
        for v in values {
            buffer |= UInt64(v) << UInt64(held)
            held += bits
            while held >= 8 {
                bytes[at] = UInt8(truncatingIfNeeded: buffer)
                buffer >>= 8
                held -= 8
                at += 1
            }
        }
        if held > 0 { bytes[at] = UInt8(truncatingIfNeeded: buffer) }
        return Data(bytes)
    }

    /// `count` elements of `bits` bits from `data`, which must be exactly their bytes.
    public static func unpack(_ data: Data, count: Int, bits: Int) throws(SecAggError) -> [UInt32] {
        guard (1...32).contains(bits) else { throw .protocolViolation("masked_bits \(bits) is not in 1...32") }
        // A count the bytes cannot hold is refused before it is multiplied: a declared count
        // near 2^63 (masked_count is 64 bits on the wire) overflowed `count * bits`.
        guard count >= 0, count <= data.count * 8 / bits else {
            throw .protocolViolation("a masked vector of \(data.count) bytes cannot hold \(count) elements of \(bits) bits")
        }
        let expected = byteCount(count: count, bits: bits)
        guard data.count == expected else {
            throw .protocolViolation("a masked vector of \(data.count) bytes, not the \(expected) of \(count) elements of \(bits) bits")
        }
        let mask = bits == 32 ? UInt64(UInt32.max) : (UInt64(1) << UInt64(bits)) - 1
        var values = [UInt32](repeating: 0, count: count)
        let bytes = [UInt8](data)
        var buffer: UInt64 = 0
        var held = 0, at = 0
        for i in 0..<count {
            while held < bits {
                buffer |= UInt64(bytes[at]) << UInt64(held)
                held += 8
                at += 1
            }
            values[i] = UInt32(truncatingIfNeeded: buffer & mask)
            buffer >>= UInt64(bits)
            held -= bits
        }
        return values
    }
}
