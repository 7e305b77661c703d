/// How item ids (any string: MovieLens numbers, a shop's SKUs) become embedding rows.
///
/// Silos must agree on it without seeing each other's data, so it is part of the model
/// configuration, never derived from a data file. Row 0 is padding and never an item.
public enum ItemMapping: Sendable, Hashable {
    /// A shared numeric catalogue: ids "1"..."N" are rows 1...N; anything else is refused.
    case catalogue(items: Int)
    /// Feature hashing: any id goes to row 1 + FNV-1a-64(id) mod `buckets`. Unbounded id
    /// spaces fit a fixed table, at the price of rare collisions.
    case hashed(buckets: Int)

    /// The number of embedding rows, padding included.
    public var rowCount: Int {
        switch self {
        case .catalogue(let items): items + 1
        case .hashed(let buckets): buckets + 1
        }
    }

    /// The embedding row of `id`, or nil when the catalogue does not contain it.
    public func row(for id: Substring) -> Int32? {
        switch self {
        case .catalogue(let items):
            guard let n = Int(id), n >= 1, n <= items else { return nil }
            return Int32(n)
        case .hashed(let buckets):
            return Int32(1 + Int(Self.fnv1a64(id.utf8) % UInt64(buckets)))
        }
    }

    /// FNV-1a over the id's UTF-8 bytes: stable across processes and machines, unlike
    /// Swift's per-process seeded `Hasher`.
    public static func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}

extension ItemMapping: LosslessStringConvertible {
    /// Parses `catalogue:N` or `hash:B`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let n = Int(parts[1]), n >= 1, n < Int(Int32.max) else { return nil }
        switch parts[0] {
        case "catalogue", "catalog": self = .catalogue(items: n)
        case "hash": self = .hashed(buckets: n)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .catalogue(let items): "catalogue:\(items)"
        case .hashed(let buckets): "hash:\(buckets)"
        }
    }
}
