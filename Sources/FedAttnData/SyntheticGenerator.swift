public import FedAttnCore
import FedAttnModel
import Foundation

/// Click logs with planted structure, for demos, tests and benchmarks at any scale.
///
/// Items belong to topics and have a popularity; each user's interest over topics drifts
/// as they browse; each strategy has its own click rate. A row's click probability is
///   sigmoid(-0.3 + 1.2 log(topics * interest[topic] + 0.05) + popularity + strategyOffset)
/// so a model that reads the recent click history (which reveals current interest) beats
/// one that only knows the item.
public struct SyntheticGenerator: Sendable {
    public struct Config: Sendable, Hashable {
        public var users: Int
        public var items: Int
        public var topics: Int
        public var strategies: Int
        /// Mean rows per user (each user has at least 5).
        public var rowsPerUser: Int
        /// Item ids like "SKU-000042" instead of "42": exercises hashed item mapping.
        public var skuItemIDs: Bool
        public var seed: UInt64

        public init(users: Int, items: Int, topics: Int, strategies: Int, rowsPerUser: Int, skuItemIDs: Bool = false, seed: UInt64 = 1) {
            precondition(
                users >= 1 && items >= 1 && topics >= 1 && strategies >= 1 && rowsPerUser >= 5,
                "Synthetic sizes must be positive, rows per user at least 5.")
            self.users = users
            self.items = items
            self.topics = topics
            self.strategies = strategies
            self.rowsPerUser = rowsPerUser
            self.skuItemIDs = skuItemIDs
            self.seed = seed
        }

        /// The built-in data of `make demo`: about 120,000 rows, 3 strategies; few enough items
        /// that the attention learns their topics within a few epochs.
        public static let demo = Config(users: 3_000, items: 200, topics: 8, strategies: 3, rowsPerUser: 40, seed: 7)

        /// The item mapping under which these ids are valid.
        public var itemMapping: ItemMapping {
            skuItemIDs ? .hashed(buckets: max(64, items * 2)) : .catalogue(items: items)
        }
    }

    public let config: Config

    public init(config: Config) { self.config = config }

    /// The topic of each item, by item id: the group a Dirichlet silo split uses.
    public func itemTopics() -> [String: Int] {
        let (topics, _) = catalogue()
        return Dictionary(uniqueKeysWithValues: topics.enumerated().map { (itemID($0.offset), $0.element) })
    }

    private func itemID(_ item: Int) -> String {
        config.skuItemIDs ? String(format: "SKU-%06d", item + 1) : "\(item + 1)"
    }

    /// Each item's topic and popularity, from their own stream of the seed.
    private func catalogue() -> (topics: [Int], popularity: [Double]) {
        var rng = SeededGenerator(seed: config.seed ^ 0xC0FFEE)
        let topics = (0..<config.items).map { _ in Int(rng.next() % UInt64(config.topics)) }
        let popularity = (0..<config.items).map { _ in 0.6 * rng.nextNormal() }
        return (topics, popularity)
    }

    /// Generates the whole log; the same config always gives the same rows.
    public func generate() -> ClickLog {
        var rng = SeededGenerator(seed: config.seed)
        let c = config
        let (itemTopic, popularity) = catalogue()
        let strategyOffset = (0..<c.strategies).map { s in c.strategies == 1 ? 0 : -0.8 + 1.6 * Double(s) / Double(c.strategies - 1) }
        var itemsByTopic = [[Int]](repeating: [], count: c.topics)
        for (item, topic) in itemTopic.enumerated() { itemsByTopic[topic].append(item) }
        let mapping = c.itemMapping
        let itemIDs = (0..<c.items).map(itemID)
        let itemRows = itemIDs.map { mapping.row(for: Substring($0))! }

        var log = ClickLog()
        for user in 0..<c.users {
            let userID = String(format: "u%06d", user + 1)
            var interest = rng.nextDirichlet(alpha: 0.3, count: c.topics)
            let rows = 5 + Int(-Double(c.rowsPerUser - 5) * _log(1 - rng.nextUnit()))
            var time: Int64 = 1_700_000_000 + Int64(rng.next() % 10_000_000)
            for _ in 0..<rows {
                // Interests drift: now and then they move toward a fresh random mix.
                if rng.nextUnit() < 0.08 {
                    let fresh = rng.nextDirichlet(alpha: 0.3, count: c.topics)
                    for t in 0..<c.topics { interest[t] = 0.6 * interest[t] + 0.4 * fresh[t] }
                }
                // Half the items shown follow the user's interest, half are exploration.
                let topic = rng.nextUnit() < 0.5 ? sample(interest, &rng) : Int(rng.next() % UInt64(c.topics))
                let pool = itemsByTopic[topic].isEmpty ? Array(0..<c.items) : itemsByTopic[topic]
                let item = pool[Int(rng.next() % UInt64(pool.count))]
                let strategy = Int(rng.next() % UInt64(c.strategies))
                let logit = -0.3 + 1.2 * _log(Double(c.topics) * interest[itemTopic[item]] + 0.05) + popularity[item] + strategyOffset[strategy]
                let clicked = rng.nextUnit() < 1 / (1 + _exp(-logit))
                time += 30 + Int64(rng.next() % 3_600)
                log.append(
                    user: userID, item: itemIDs[item], itemRow: itemRows[item], timestamp: time * 1_000_000,
                    label: clicked ? 1 : 0, strategy: Int32(strategy))
            }
        }
        return log
    }

    private func sample(_ weights: [Double], _ rng: inout SeededGenerator) -> Int {
        var u = rng.nextUnit()
        for (i, w) in weights.enumerated() {
            u -= w
            if u < 0 { return i }
        }
        return weights.count - 1
    }
}

@inline(__always) func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) func _exp(_ x: Double) -> Double { Foundation.exp(x) }
