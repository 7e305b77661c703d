import FedAttnCore
public import FedAttnModel

extension Recommender {
    /// The `k` best items for `user` of `log`: candidates are the catalogue (catalogue:N)
    /// or every item id in the log (hash:B), less what the user already has.
    public func topItems(for user: Int32, in log: ClickLog, strategy: Int32, k: Int) -> [(itemID: String, score: Float)] {
        let (history, seen) = ExampleBuilder(historyLength: model.config.historyLength).profile(of: user, in: log)
        let seenIDs = Set(seen.map { log.itemIDs[Int($0)] })
        var candidateIDs: [String]
        switch model.config.items {
        case .catalogue(let items): candidateIDs = (1...items).map { "\($0)" }
        case .hashed: candidateIDs = log.itemIDs
        }
        candidateIDs.removeAll { seenIDs.contains($0) }
        let rows = candidateIDs.map { model.config.items.row(for: Substring($0))! }
        return rank(candidates: rows, history: history, strategy: strategy, k: k).map { (candidateIDs[$0.index], $0.score) }
    }
}
