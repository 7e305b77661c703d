/// A silo's click log, in columns: who saw which item when, in which strategy, and
/// whether they clicked. Raw user and item ids stay here, inside the silo.
public struct ClickLog: Sendable {
    /// User ids by index.
    public internal(set) var userIDs: [String] = []
    /// Distinct item ids by index, as written in the log.
    public internal(set) var itemIDs: [String] = []
    /// One entry per row.
    public internal(set) var users: [Int32] = []
    public internal(set) var itemKeys: [Int32] = []  // index into itemIDs
    public internal(set) var itemRows: [Int32] = []  // embedding row of the item
    /// Microseconds since 1970-01-01T00:00:00Z.
    public internal(set) var timestamps: [Int64] = []
    public internal(set) var labels: [UInt8] = []
    public internal(set) var strategies: [Int32] = []
    /// Malformed rows skipped (only with the skip option), with the first few reasons.
    public internal(set) var skippedRows = 0
    public internal(set) var skippedExamples: [String] = []
    /// The files read, in order.
    public internal(set) var sources: [String] = []

    private var userIndex: [String: Int32] = [:]
    private var itemIndex: [String: Int32] = [:]

    public init() {}

    public var count: Int { labels.count }

    /// The index of the user with this id, if the log has them.
    public func user(named id: String) -> Int32? { userIndex[id] }

    /// Adds one row (`timestamp` in microseconds since 1970); ids are interned.
    public mutating func append(user: String, item: String, itemRow: Int32, timestamp: Int64, label: UInt8, strategy: Int32) {
        users.append(Self.intern(user, in: &userIndex, ids: &userIDs))
        itemKeys.append(Self.intern(item, in: &itemIndex, ids: &itemIDs))
        itemRows.append(itemRow)
        timestamps.append(timestamp)
        labels.append(label)
        strategies.append(strategy)
    }

    /// Static on purpose: an instance method here would see `self` while its dictionary is
    /// passed inout, and Swift would copy the dictionary for every row.
    private static func intern(_ id: String, in index: inout [String: Int32], ids: inout [String]) -> Int32 {
        if let known = index[id] { return known }
        let next = Int32(ids.count)
        index[id] = next
        ids.append(id)
        return next
    }

    /// Appends every row of `other` (pooling silos).
    public mutating func append(contentsOf other: ClickLog) {
        for i in 0..<other.count {
            append(
                user: other.userIDs[Int(other.users[i])], item: other.itemIDs[Int(other.itemKeys[i])],
                itemRow: other.itemRows[i], timestamp: other.timestamps[i], label: other.labels[i],
                strategy: other.strategies[i])
        }
        skippedRows += other.skippedRows
        skippedExamples += other.skippedExamples.prefix(max(0, 5 - skippedExamples.count))
        sources += other.sources
    }

    /// Room for `rows` rows in every column.
    mutating func reserveCapacity(rows: Int) {
        guard rows > 0 else { return }
        users.reserveCapacity(rows)
        itemKeys.reserveCapacity(rows)
        itemRows.reserveCapacity(rows)
        timestamps.reserveCapacity(rows)
        labels.reserveCapacity(rows)
        strategies.reserveCapacity(rows)
    }

    /// What the log was, once its rows are gone: for reports.
    public struct Summary: Sendable {
        public let rows: Int
        public let users: Int
        public let skippedRows: Int
        public let skippedExamples: [String]
    }

    public var summary: Summary { Summary(rows: count, users: userIDs.count, skippedRows: skippedRows, skippedExamples: skippedExamples) }

    /// Drops the columns and indexes examples no longer need once each user's rows are in
    /// order (ids, users, item keys, timestamps): most of the log's memory.
    mutating func releaseAllButExampleColumns() {
        userIDs = []
        itemIDs = []
        users = []
        itemKeys = []
        timestamps = []
        userIndex = [:]
        itemIndex = [:]
    }

    mutating func noteSkipped(_ reason: String) {
        skippedRows += 1
        if skippedExamples.count < 5 { skippedExamples.append(reason) }
    }

    mutating func noteSource(_ path: String) { sources.append(path) }
}
