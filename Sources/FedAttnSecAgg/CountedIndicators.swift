/// Sum 0's vector when it also carries the silos' item counts for the most-popular baseline
/// (protocol 11, `SecureTask.carries_popularity_counts`): 2V + 1 ring elements of 32 bits,
/// V the item table's rows,
/// - [0, V): the row indicators, as `RowIndicators` encodes them (a random mark m in
///   1...65535 for each row new to everyone, 0 elsewhere), each sent as m x 2^16;
/// - [V, 2V): the silo's train rows of item row 0..<V (row 0, padding, always 0);
/// - [2V]: 1 when the silo shares its counts, 0 when it declines (its counts are then all 0).
/// Summed in the ring Z_{2^32} (4 bytes an element on the wire), the unmasked vector gives the
/// rows new this round, each item's train rows summed over the silos of the sum, and how many
/// of them shared: nothing of any one silo. The marks sit in the ring's top 16 bits, so their
/// sum is the sum in Z_{2^16} of `RowIndicators`, shifted: it says whether some silo touched a
/// row, never how many (marks kept in the low bits would not wrap, and their sum would bound
/// the number of silos behind a row). The counts do
/// not wrap while the silos of the round declared fewer than 2^32 training examples in all
/// (each count is at most its silo's examples): the coordinator carries counts only then.
public struct CountedIndicators: Sendable, Hashable {
    /// Item table rows V.
    public let rows: Int
    /// The ring's bits: the whole vector is summed mod 2^32.
    public static let bits = 32

    /// - Precondition: rows >= 0.
    public init(rows: Int) {
        precondition(rows >= 0, "A table of 0 or more rows.")
        self.rows = rows
    }

    /// Ring elements of the vector: 2V + 1.
    public var length: Int { 2 * rows + 1 }

    /// One silo's vector: `indicators` (`RowIndicators.encode`'s, V elements), then its train
    /// rows per item row (`counts`, V elements, each below 2^32; nil: it declines, and sends
    /// zeros with a shared flag of 0).
    /// - Precondition: `indicators` and `counts` (when given) have V elements each.
    public func encode(indicators: [UInt32], counts: [UInt32]?) -> [UInt32] {
        precondition(indicators.count == rows, "\(rows) indicators, not \(indicators.count).")
        precondition(indicators.allSatisfy { $0 <= 0xFFFF }, "Marks of 16 bits.")
        var vector = indicators.map { $0 << 16 }
        vector.reserveCapacity(length)
        if let counts {
            precondition(counts.count == rows, "\(rows) counts, not \(counts.count).")
            vector.append(contentsOf: counts)
            vector.append(1)
        } else {
            vector.append(contentsOf: repeatElement(UInt32(0), count: rows + 1))
        }
        return vector
    }

    /// What an unmasked sum of such vectors holds.
    public struct Sum: Sendable, Hashable {
        /// The indicators' sum (V elements, mod 2^32, the marks' sum mod 2^16 times 2^16):
        /// non-zero where a row is new.
        public let indicators: [UInt32]
        /// Each item row's train rows, summed over the silos of the sum (V elements).
        public let counts: [UInt32]
        /// How many of those silos shared their counts: the shared flags' sum.
        public let shared: UInt32
    }

    /// `sum` (an unmasked sum of `length` elements) cut into its three parts.
    /// - Precondition: sum.count == length.
    public func split(_ sum: [UInt32]) -> Sum {
        precondition(sum.count == length, "A vector of \(length) elements, not \(sum.count).")
        return Sum(indicators: Array(sum[0..<rows]), counts: Array(sum[rows..<(2 * rows)]), shared: sum[2 * rows])
    }
}
