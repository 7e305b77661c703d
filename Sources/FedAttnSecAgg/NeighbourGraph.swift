import FedAttnCore

/// SecAgg+'s sparse communication graph (Bell et al., "Secure Single-Server Aggregation with
/// (Poly)Logarithmic Overhead", CCS 2020): a Harary graph H(k, n) over a random permutation
/// of the clients. Each client is placed on a ring in an order drawn from a public seed and
/// is the neighbour of the k / 2 clients on either side; it agrees masks and shares keys with
/// those k alone, so a round costs O(k) per client instead of O(n). With k >= n - 1 every
/// client is every other's neighbour (the original SecAgg of Bonawitz et al., CCS 2017).
public struct NeighbourGraph: Sendable, Equatable {
    /// Each client's neighbours, sorted.
    public let neighbours: [Int: [Int]]

    /// The graph over `clients` (distinct ids), `k` neighbours each (rounded up to even,
    /// at most n - 1), placed by `seed`.
    public init(clients: [Int], k: Int, seed: UInt64) {
        var order = clients.sorted()
        var generator = SeededGenerator(seed: seed)
        order.shuffle(using: &generator)
        let n = order.count
        let half = max(1, (k + 1) / 2)
        var neighbours: [Int: Set<Int>] = [:]
        for (position, client) in order.enumerated() {
            var set = Set<Int>()
            if k >= n - 1 {
                set = Set(order).subtracting([client])
            } else {
                for offset in 1...half {
                    set.insert(order[(position + offset) % n])
                    set.insert(order[(position - offset + n) % n])
                }
                set.remove(client)
            }
            neighbours[client] = set
        }
        self.neighbours = neighbours.mapValues { $0.sorted() }
    }
}
