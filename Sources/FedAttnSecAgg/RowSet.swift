public import Foundation

/// A set of a table's rows as a bitmap (bit r of byte r / 8, least significant first): the
/// rows some silo has trained so far, as the coordinator sends them (protocol 8,
/// `SecureTask.known_rows`), rows / 8 bytes however many are set.
public struct RowSet: Sendable, Hashable {
    public let rows: Int
    public private(set) var bitmap: [UInt8]

    /// The empty set of a table of `rows` rows.
    public init(rows: Int) {
        precondition(rows >= 0, "A table of 0 or more rows.")
        self.rows = rows
        bitmap = [UInt8](repeating: 0, count: (rows + 7) / 8)
    }

    /// A set read from its bitmap; nil when the bitmap is not (rows + 7) / 8 bytes or sets a
    /// bit past the last row.
    public init?(rows: Int, bitmap: Data) {
        // Bytes counted without `rows + 7`, which overflows for a row count near Int.max.
        guard rows >= 0, bitmap.count == rows / 8 + (rows % 8 == 0 ? 0 : 1) else { return nil }
        self.rows = rows
        self.bitmap = [UInt8](bitmap)
        if rows % 8 != 0, let last = self.bitmap.last, last >> UInt8(rows % 8) != 0 { return nil }
    }

    public func contains(_ row: Int32) -> Bool {
        let r = Int(row)
        return r >= 0 && r < rows && bitmap[r / 8] & (1 << UInt8(r % 8)) != 0
    }

    /// Adds `rows` (each < the table's rows).
    public mutating func insert(contentsOf rows: some Sequence<Int32>) {
        for row in rows {
            let r = Int(row)
            precondition(r >= 0 && r < self.rows, "Row \(r) outside the table's \(self.rows).")
            bitmap[r / 8] |= 1 << UInt8(r % 8)
        }
    }

    /// The rows in the set, ascending.
    public var sorted: [Int32] {
        var out: [Int32] = []
        for (byte, bits) in bitmap.enumerated() where bits != 0 {
            for bit in 0..<8 where bits & (1 << UInt8(bit)) != 0 { out.append(Int32(byte * 8 + bit)) }
        }
        return out
    }

    public var count: Int { bitmap.reduce(0) { $0 + $1.nonzeroBitCount } }
    public var data: Data { Data(bitmap) }
}
