/// The rows a silo's update newly touches, as a vector that secure aggregation sums in the
/// ring Z_{2^16} (one element per table row, 2 bytes on the wire): a random value in
/// 1...65535 for each such row, 0 elsewhere. The unmasked sum tells whether some silo touched
/// a row (non-zero), never how many or which: unlike 0/1 indicators (counts), two sums over
/// different sets of silos cannot be subtracted into one silo's rows. A row touched by two or
/// more silos reads as untouched only when their values cancel (1 in 65,535; it is then
/// caught in a later round). When sum 0 carries the silos' item counts (`CountedIndicators`,
/// a ring of 32 bits) the marks travel in its top 16 bits: the same sum, shifted.
public struct RowIndicators: Sendable, Hashable {
    public let rows: Int
    /// The ring's bits.
    public static let bits = 16

    /// - Precondition: rows >= 0.
    public init(rows: Int) {
        precondition(rows >= 0, "A table of 0 or more rows.")
        self.rows = rows
    }

    /// Ring elements of the vector: one per row.
    public var length: Int { rows }

    /// One silo's indicators: a random value in 1...65535 at each row of `touched` (each < rows).
    public func encode(_ touched: some Sequence<Int32>, using generator: inout some RandomNumberGenerator) -> [UInt32] {
        var vector = [UInt32](repeating: 0, count: rows)
        for row in touched {
            let r = Int(row)
            precondition(r >= 0 && r < rows, "Row \(r) outside the table's \(rows).")
            vector[r] = UInt32.random(in: 1...0xFFFF, using: &generator)
        }
        return vector
    }

    /// The rows whose element of a summed vector is non-zero in the ring of `bits` bits (16,
    /// this type's own; 32 when the marks were summed mod 2^32, `CountedIndicators`), ascending.
    /// - Precondition: sum.count == length, 1 <= bits <= 32.
    public func touched(_ sum: [UInt32], bits: Int = RowIndicators.bits) -> [Int32] {
        precondition(sum.count == length, "A vector of \(length) elements, not \(sum.count).")
        precondition((1...32).contains(bits), "A ring of 1 to 32 bits, not \(bits).")
        let mask: UInt32 = bits == 32 ? .max : (1 << UInt32(bits)) - 1
        return sum.indices.filter { sum[$0] & mask != 0 }.map { Int32($0) }
    }
}
