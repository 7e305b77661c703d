/// The most-popular-items baseline: every user is recommended the items with the most
/// interactions (train rows of any label), whatever its history. What a shop shows without
/// a model, and so the least a recommender must beat; it is scored with exactly the model's
/// ranking protocol (`RankingSet.rank`), on the same sampled negatives.
public struct Popularity: Sendable, Equatable {
    /// Interactions by item row (index = row; row 0, padding, has none).
    public private(set) var counts: [Float]

    /// No interactions yet, for a table of `rows` rows.
    public init(rows: Int) {
        counts = [Float](repeating: 0, count: rows)
    }

    /// The interactions of `train`'s rows (each counted once, any label).
    public init(rows: Int, train: ExampleSet) {
        self.init(rows: rows, items: train.candidates)
    }

    /// The counts `counts` names (a federation's pooled counts, say); items past the table's
    /// `rows` are left out, and every other row counts 0.
    public init(rows: Int, counts: PopularityCounts) {
        self.init(rows: rows)
        for (item, count) in zip(counts.items, counts.counts) where item >= 0 && Int(item) < rows { self.counts[Int(item)] = Float(count) }
    }

    /// One interaction for each item row of `items` (a log's rows, say).
    public init(rows: Int, items: some Sequence<Int32>) {
        self.init(rows: rows)
        for item in items where Int(item) < rows { counts[Int(item)] += 1 }
    }

    /// Adds another silo's counts (a federation's popularity is the sum over its silos).
    public mutating func merge(_ other: Popularity) {
        precondition(other.counts.count == counts.count, "Counts of one item table.")
        for i in counts.indices { counts[i] += other.counts[i] }
    }

    /// The baseline's ranking sums over `set` (sampled, and over `catalogue` when given),
    /// with the negatives drawn from `seed` as the model's are.
    public func rank(_ set: RankingSet, seed: UInt64 = 0, catalogue: [Int32]?) -> RankingSums {
        set.rank(seed: seed, catalogue: catalogue) { batch in batch.candidates.map { counts[Int($0)] } }
    }
}

/// Items' interaction counts, sparse and exact: what a silo shares of its train rows for a
/// served federation's most-popular baseline, and the pooled counts a coordinator hands back
/// (protocol `PopularityCounts`). `items` are item rows, strictly ascending; `counts[i]` is
/// the interactions of `items[i]`, 1 or more.
public struct PopularityCounts: Sendable, Equatable {
    public let items: [Int32]
    public let counts: [Int]

    public init(items: [Int32], counts: [Int]) {
        self.items = items
        self.counts = counts
    }

    /// The train rows of `train` per item row (each row once, any label: what
    /// `Popularity(rows:train:)` counts), for a table of `rows` rows; row 0 (padding) and rows
    /// past the table are left out.
    public init(rows: Int, train: ExampleSet) {
        var dense = [Int](repeating: 0, count: max(rows, 0))
        for item in train.candidates where item > 0 && Int(item) < rows { dense[Int(item)] += 1 }
        var items: [Int32] = [], counts: [Int] = []
        for (row, count) in dense.enumerated() where count > 0 {
            items.append(Int32(row))
            counts.append(count)
        }
        self.init(items: items, counts: counts)
    }

    /// Items named.
    public var count: Int { items.count }
    public var isEmpty: Bool { items.isEmpty }
    /// The interactions counted, all items together (saturating rather than overflowing).
    public var total: Int { counts.reduce(0) { $0.addingReportingOverflow($1).overflow ? .max : $0 + $1 } }
}
