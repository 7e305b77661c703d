import FedAttnCore
import FedAttnModel

/// How users are dealt out to silos.
public enum SiloScheme: Sendable, Hashable, LosslessStringConvertible {
    /// Users at random, evenly.
    case iid
    /// Users grouped by their favourite item group; each group spread over the silos with
    /// Dirichlet(alpha) proportions. Small alpha: strongly non-IID silos.
    case dirichlet(alpha: Double)

    /// Parses `iid` or `dirichlet:ALPHA`.
    public init?(_ text: String) {
        if text == "iid" {
            self = .iid
            return
        }
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0] == "dirichlet", let alpha = Double(parts[1]), alpha > 0, alpha.isFinite else { return nil }
        self = .dirichlet(alpha: alpha)
    }

    public var description: String {
        switch self {
        case .iid: "iid"
        case .dirichlet(let alpha): "dirichlet:\(alpha)"
        }
    }
}

/// Partitions a log into silos by user: every user's rows go to exactly one silo.
public struct SiloSplitter: Sendable {
    public var silos: Int
    public var scheme: SiloScheme
    public var seed: UInt64

    public init(silos: Int, scheme: SiloScheme, seed: UInt64 = 0) {
        precondition(silos >= 1, "There must be at least one silo, got \(silos).")
        self.silos = silos
        self.scheme = scheme
        self.seed = seed
    }

    /// The silo of each user (indexed like `log.userIDs`). `itemGroup` gives an item id's
    /// group (a genre, a topic) for the Dirichlet scheme; without it a user's group is a
    /// hash of their favourite item into 20 buckets. Every silo gets at least one user
    /// when there are enough users.
    public func assign(_ log: ClickLog, itemGroup: ((String) -> Int?)? = nil) -> [Int] {
        var rng = SeededGenerator(seed: seed)
        let userCount = log.userIDs.count
        var silo = [Int](repeating: 0, count: userCount)
        switch scheme {
        case .iid:
            var users = Array(0..<userCount)
            users.shuffle(using: &rng)
            for (position, user) in users.enumerated() { silo[user] = position % silos }
        case .dirichlet(let alpha):
            let groups = favouriteGroups(log, itemGroup: itemGroup)
            var members: [Int: [Int]] = [:]
            for user in 0..<userCount { members[groups[user], default: []].append(user) }
            for group in members.keys.sorted() {
                var users = members[group]!
                users.shuffle(using: &rng)
                let shares = rng.nextDirichlet(alpha: alpha, count: silos)
                // Cut the shuffled users at the cumulative shares.
                var cumulative = 0.0
                var start = 0
                for s in 0..<silos {
                    cumulative += shares[s]
                    let end = s == silos - 1 ? users.count : min(users.count, Int((cumulative * Double(users.count)).rounded()))
                    for user in users[start..<max(start, end)] { silo[user] = s }
                    start = max(start, end)
                }
            }
            fillEmptySilos(&silo)
        }
        return silo
    }

    /// The log of each silo.
    public func split(_ log: ClickLog, itemGroup: ((String) -> Int?)? = nil) -> [ClickLog] {
        let silo = assign(log, itemGroup: itemGroup)
        var parts = [ClickLog](repeating: ClickLog(), count: silos)
        for row in 0..<log.count {
            parts[silo[Int(log.users[row])]].append(
                user: log.userIDs[Int(log.users[row])], item: log.itemIDs[Int(log.itemKeys[row])],
                itemRow: log.itemRows[row], timestamp: log.timestamps[row], label: log.labels[row],
                strategy: log.strategies[row])
        }
        return parts
    }

    /// Each user's group: the group of the item they clicked most (ties: the lowest group).
    private func favouriteGroups(_ log: ClickLog, itemGroup: ((String) -> Int?)?) -> [Int] {
        let groupOfKey: [Int] = log.itemIDs.map { id in
            itemGroup?(id) ?? Int(truncatingIfNeeded: ItemMapping.fnv1a64(id.utf8) % 20)
        }
        var counts = [[Int: Int]](repeating: [:], count: log.userIDs.count)
        for row in 0..<log.count where log.labels[row] == 1 {
            counts[Int(log.users[row])][groupOfKey[Int(log.itemKeys[row])], default: 0] += 1
        }
        return counts.map { tally in
            tally.max { a, b in a.value != b.value ? a.value < b.value : a.key > b.key }?.key ?? -1
        }
    }

    /// Moves a user from the largest silo into each empty one, while users allow.
    private func fillEmptySilos(_ silo: inout [Int]) {
        guard silo.count >= silos else { return }
        var sizes = [Int](repeating: 0, count: silos)
        for s in silo { sizes[s] += 1 }
        for empty in 0..<silos where sizes[empty] == 0 {
            let largest = sizes.indices.max { sizes[$0] < sizes[$1] }!
            let user = silo.lastIndex(of: largest)!
            silo[user] = empty
            sizes[largest] -= 1
            sizes[empty] += 1
        }
    }
}
