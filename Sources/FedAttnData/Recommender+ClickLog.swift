import FedAttnCore
public import FedAttnModel

extension Recommender {
    /// A ranked list for one user: item ids and scores, best first; `popular` when the user
    /// had no click to attend over and was served the most popular items instead.
    public struct Recommendation: Sendable {
        public let user: String
        public let items: [(itemID: String, score: Float)]
        public let popular: Bool
    }

    /// What can be recommended from `log`: the catalogue's items (catalogue:N), or every item
    /// id the log holds (hash:B, whose rows are buckets rather than items), by row.
    public func candidates(in log: ClickLog) -> (rows: [Int32], ids: [String]) {
        let ids: [String]
        switch model.config.items {
        case .catalogue(let items): ids = (1...items).map { "\($0)" }
        case .hashed: ids = log.itemIDs
        }
        return (ids.map { model.config.items.row(for: Substring($0))! }, ids)
    }

    /// The `k` best items for each user of `log` (`users`: their indices; nil, every user),
    /// in one pass: candidates as `candidates(in:)` says, less `excludedIDs` and, unless
    /// `keepSeen`, what the user already has. A user without a click is served the items
    /// with the most rows in the log (it has no history to attend over); so is an id the log
    /// does not know (`unknown`: a new user).
    public func recommendations(
        in log: ClickLog, users: [Int32]? = nil, unknown: [String] = [], strategy: Int32, k: Int, keepSeen: Bool = false,
        excludedIDs: Set<String> = [], diversity: Float = 0, threads: Int = 1
    ) -> [Recommendation] {
        let (rows, ids) = candidates(in: log)
        let banned = Set(excludedIDs.compactMap { model.config.items.row(for: Substring($0)) })
        let profiles = ExampleBuilder(historyLength: model.config.historyLength).profiles(log)
        let chosen = users ?? (0..<Int32(log.userIDs.count)).map { $0 }
        let withHistory = chosen.filter { !profiles[Int($0)].history.isEmpty }
        let lists = recommend(
            withHistory.map { user in
                let seen = keepSeen ? [] : profiles[Int(user)].seenRows
                return Profile(history: profiles[Int(user)].history, excluded: seen + banned, strategy: strategy)
            }, candidates: rows, k: k, diversity: diversity, threads: threads)
        var byUser: [Int32: [(itemID: String, score: Float)]] = [:]
        for (user, list) in zip(withHistory, lists) { byUser[user] = list.map { (ids[$0.index], $0.score) } }
        // The popular items, by rows in the log, for users with nothing to attend over.
        let counts = Popularity(rows: model.config.items.rowCount, items: log.itemRows).counts
        let total = Float(max(1, log.itemRows.count))
        func popular(leaving out: Set<Int32>) -> [(itemID: String, score: Float)] {
            rows.indices.filter { !out.contains(rows[$0]) && !banned.contains(rows[$0]) }
                .sorted { counts[Int(rows[$0])] > counts[Int(rows[$1])] || (counts[Int(rows[$0])] == counts[Int(rows[$1])] && $0 < $1) }
                .prefix(k).map { (ids[$0], counts[Int(rows[$0])] / total) }
        }
        return chosen.map { user in
            if let list = byUser[user] { return Recommendation(user: log.userIDs[Int(user)], items: list, popular: false) }
            let seen = keepSeen ? [] : Set(profiles[Int(user)].seenRows)
            return Recommendation(user: log.userIDs[Int(user)], items: popular(leaving: seen), popular: true)
        } + unknown.map { Recommendation(user: $0, items: popular(leaving: []), popular: true) }
    }

}
