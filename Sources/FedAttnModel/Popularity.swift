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
