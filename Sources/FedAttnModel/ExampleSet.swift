/// Training or test examples in columns: one candidate, strategy, label and history each.
///
/// Columns keep millions of examples compact (a history costs 4 bytes an item) and let
/// the kernels read them without allocating.
public struct ExampleSet: Sendable, Equatable {
    /// The candidate item's embedding row.
    public private(set) var candidates: [Int32] = []
    /// The recommendation strategy id.
    public private(set) var strategies: [Int32] = []
    /// 1 for a click, 0 otherwise.
    public private(set) var labels: [Float] = []
    /// Example i's history is `historyItems[historyStarts[i]..<historyStarts[i + 1]]`.
    public private(set) var historyStarts: [Int32] = [0]
    /// Embedding rows of clicked items, oldest first, all histories end to end.
    public private(set) var historyItems: [Int32] = []

    public init() {}

    public var count: Int { labels.count }
    public var isEmpty: Bool { labels.isEmpty }

    /// Adds one example. `history` is oldest first, already cut to the model's length.
    public mutating func append(candidate: Int32, strategy: Int32, label: Float, history: some Collection<Int32>) {
        candidates.append(candidate)
        strategies.append(strategy)
        labels.append(label)
        historyItems.append(contentsOf: history)
        historyStarts.append(Int32(historyItems.count))
    }

    /// The history of example `i`.
    public func history(_ i: Int) -> ArraySlice<Int32> {
        historyItems[Int(historyStarts[i])..<Int(historyStarts[i + 1])]
    }

    /// Appends every example of `other`.
    public mutating func append(contentsOf other: ExampleSet) {
        for i in 0..<other.count {
            append(candidate: other.candidates[i], strategy: other.strategies[i], label: other.labels[i], history: other.history(i))
        }
    }

    /// The share of examples labelled 1.
    public var positiveRate: Double {
        isEmpty ? 0 : Double(labels.reduce(0, +)) / Double(count)
    }

    /// Reserves room for `examples` examples with `historyItems` history entries in all.
    public mutating func reserveCapacity(examples: Int, historyItems items: Int) {
        candidates.reserveCapacity(examples)
        strategies.reserveCapacity(examples)
        labels.reserveCapacity(examples)
        historyStarts.reserveCapacity(examples + 1)
        historyItems.reserveCapacity(items)
    }
}
