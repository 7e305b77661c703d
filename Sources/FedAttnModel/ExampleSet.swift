/// Training or test examples in columns: one candidate, strategy, label and history each.
///
/// A history is a window into `historyItems`, where each user's clicked items are kept once,
/// in order: an example costs 20 bytes however long its history (a copy of 20 history items
/// would be 80 more), and the kernels read the columns without allocating.
public struct ExampleSet: Sendable, Equatable {
    /// The candidate item's embedding row.
    public private(set) var candidates: [Int32] = []
    /// The recommendation strategy id.
    public private(set) var strategies: [Int32] = []
    /// 1 for a click, 0 otherwise.
    public private(set) var labels: [Float] = []
    /// The silo-local index of the example's user (0 where the set does not tell users
    /// apart): sampled negatives are items this user has no train row of.
    public private(set) var users: [Int32] = []
    /// Example i's history is `historyItems[historyStarts[i]..<historyEnds[i]]`.
    public private(set) var historyStarts: [Int32] = []
    public private(set) var historyEnds: [Int32] = []
    /// Embedding rows of clicked items, oldest first: click sequences end to end, which the
    /// histories are windows into.
    public private(set) var historyItems: [Int32] = []

    public init() {}

    /// An empty set whose examples will be windows into `other`'s clicks (shared, not copied).
    init(sharingClicksOf other: ExampleSet) {
        historyItems = other.historyItems
    }

    public var count: Int { labels.count }
    public var isEmpty: Bool { labels.isEmpty }

    /// Adds one example with a history of its own. `history` is oldest first, already cut
    /// to the model's length.
    public mutating func append(candidate: Int32, strategy: Int32, label: Float, history: some Collection<Int32>, user: Int32 = 0) {
        let start = Int32(historyItems.count)
        historyItems.append(contentsOf: history)
        append(candidate: candidate, strategy: strategy, label: label, window: start..<Int32(historyItems.count), user: user)
    }

    /// Adds one example whose history is `historyItems[window]` (clicks already added with
    /// `appendClick`), oldest first, at most the model's length.
    public mutating func append(candidate: Int32, strategy: Int32, label: Float, window: Range<Int32>, user: Int32 = 0) {
        precondition(window.lowerBound >= 0 && window.upperBound <= Int32(historyItems.count), "A history window lies within the clicks.")
        candidates.append(candidate)
        strategies.append(strategy)
        labels.append(label)
        users.append(user)
        historyStarts.append(window.lowerBound)
        historyEnds.append(window.upperBound)
    }

    /// Adds a clicked item to the click sequences, for later examples' windows.
    public mutating func appendClick(_ item: Int32) { historyItems.append(item) }

    /// Where the next click will go: a window's bound.
    public var clickCount: Int32 { Int32(historyItems.count) }

    /// The history of example `i`.
    public func history(_ i: Int) -> ArraySlice<Int32> {
        historyItems[Int(historyStarts[i])..<Int(historyEnds[i])]
    }

    /// Appends every example of `other` (each history copied).
    public mutating func append(contentsOf other: ExampleSet) {
        for i in 0..<other.count {
            append(
                candidate: other.candidates[i], strategy: other.strategies[i], label: other.labels[i], history: other.history(i),
                user: other.users[i])
        }
    }

    /// The share of examples labelled 1.
    public var positiveRate: Double {
        isEmpty ? 0 : Double(labels.reduce(0, +)) / Double(count)
    }

    /// Reserves room for `examples` examples and `historyItems` clicks in all.
    public mutating func reserveCapacity(examples: Int, historyItems items: Int) {
        candidates.reserveCapacity(examples)
        strategies.reserveCapacity(examples)
        labels.reserveCapacity(examples)
        users.reserveCapacity(examples)
        historyStarts.reserveCapacity(examples)
        historyEnds.reserveCapacity(examples)
        // Only when it grows: reserving on a buffer shared with another set copies it.
        if items > historyItems.capacity { historyItems.reserveCapacity(items) }
    }
}
