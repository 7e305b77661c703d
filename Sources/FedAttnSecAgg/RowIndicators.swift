/// The rows a silo's update touches, as a vector that secure aggregation can sum: a count of
/// `bits` bits per table row, packed `32 / bits` to a ring element (UInt32). Each silo puts a 1
/// in the lanes of its rows; the masked sum, unmasked, gives each row's count of silos, never
/// which silo (issue 13's design: a first secure sum of indicators, then masked values over
/// the union). Lanes never carry into each other as long as the count stays below 2^bits, so
/// `bits` must exceed log2(clients): 8 bits (255 clients) packs four rows to an element, a
/// hash:4M table to 4 MB.
public struct RowIndicators: Sendable, Hashable {
    public let rows: Int
    public let bits: Int

    /// - Precondition: rows >= 0; bits one of 1, 2, 4, 8, 16 (lanes fill an element exactly).
    public init(rows: Int, bits: Int) {
        precondition(rows >= 0 && [1, 2, 4, 8, 16].contains(bits), "bits of 1, 2, 4, 8 or 16 per row.")
        self.rows = rows
        self.bits = bits
    }

    /// The bits a lane needs for counts of up to `clients`.
    public static func bits(forClients clients: Int) -> Int {
        [1, 2, 4, 8, 16].first { (1 << $0) > clients } ?? 16
    }

    var lanesPerElement: Int { 32 / bits }
    /// Ring elements the packed vector takes.
    public var length: Int { (rows + lanesPerElement - 1) / lanesPerElement }
    /// The most clients whose counts never carry into the next lane.
    public var maxClients: Int { (1 << bits) - 1 }

    /// One silo's indicators: 1 in the lane of each row in `touched` (each row once, < rows).
    public func encode(_ touched: some Sequence<Int32>) -> [UInt32] {
        var packed = [UInt32](repeating: 0, count: length)
        for row in touched {
            let r = Int(row)
            precondition(r >= 0 && r < rows, "Row \(r) outside the table's \(rows).")
            packed[r / lanesPerElement] |= 1 << UInt32((r % lanesPerElement) * bits)
        }
        return packed
    }

    /// Each row's count from a summed vector.
    public func counts(_ sum: [UInt32]) -> [Int] {
        precondition(sum.count == length, "A packed vector of \(length) elements, not \(sum.count).")
        let mask = UInt32((1 << bits) - 1)
        return (0..<rows).map { r in Int((sum[r / lanesPerElement] >> UInt32((r % lanesPerElement) * bits)) & mask) }
    }
}
