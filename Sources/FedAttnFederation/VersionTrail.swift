/// The recent published versions and the item-table rows each changed, so that a client
/// holding one of them can be sent just the rows changed since (a catch-up download)
/// instead of the whole model. A pure value: the coordinator appends each version it
/// publishes. Memory is the rows listed: O(rows touched per round x `capacity`).
struct VersionTrail: Sendable, Equatable {
    /// The most versions remembered: a client further behind downloads the whole model.
    let capacity: Int
    /// Oldest first; the last is the current version.
    private(set) var versions: [String]
    /// `changes[i]`: the item rows in which `versions[i + 1]` differs from `versions[i]`
    /// (ascending). Tensors other than the item table may change in every version.
    private var changes: [[Int32]] = []

    /// A trail starting at `version` (a fresh or resumed coordinator: nothing older is known).
    init(current version: String, capacity: Int = 64) {
        precondition(capacity >= 1, "A trail holds at least the current version.")
        self.capacity = capacity
        versions = [version]
    }

    /// Records `version`, published after the current one with the item rows `changedRows`
    /// (ascending) changed; nil when which rows changed is not known (the trail restarts).
    mutating func append(_ version: String, changedRows: [Int32]?) {
        guard let changedRows else {
            self = VersionTrail(current: version, capacity: capacity)
            return
        }
        versions.append(version)
        changes.append(changedRows)
        if versions.count > capacity {
            versions.removeFirst()
            changes.removeFirst()
        }
    }

    /// The item rows changed since `base` up to the current version, ascending, each once;
    /// nil when `base` is not on the trail (never seen, or too old). Empty for the current version.
    func rowsChanged(since base: String) -> [Int32]? {
        guard let start = versions.firstIndex(of: base) else { return nil }
        let steps = changes[start...]
        if steps.count <= 1 { return steps.first ?? [] }
        return Array(Set(steps.joined())).sorted()
    }
}
