public import FedAttnCore
import RealModule

/// Training to rank: beside each clicked train row, `count` items its user has no train row
/// of, labelled 0, with the same history and strategy (He et al., "Neural Collaborative
/// Filtering", WWW 2017: sampled negatives with binary cross-entropy). Without them every
/// training row is an item the user interacted with, and the model never learns what sets
/// those apart from the rest of the catalogue, which is what ranking the catalogue needs.
///
/// Items are drawn from the silo's own train candidates, with probability proportional to
/// (the item's train rows)^`exponent`: 0 is uniform over those items (NCF), 1 follows
/// popularity, 0.75 is word2vec's smoothing (Mikolov et al., NIPS 2013). A silo's update
/// already names every row its train candidates touched, so drawing from them reveals no
/// row the update would not name anyway (and a secure round announces no new row). Under
/// DP-SGD (`privateDraws`) the draws read nothing of the data (see `NegativeSampler`).
public struct NegativeSampling: Sendable, Hashable {
    /// Negatives drawn for each clicked train row, each counted as one example; 0 trains on
    /// the labelled rows alone.
    public var count: Int
    /// The sampling distribution's exponent on each item's train-row count: 0 uniform, 1 by
    /// popularity.
    public var exponent: Double

    /// The defaults: 16 negatives per click, drawn with exponent 0.5: of the settings tried in
    /// 20-round federations (docs/ranking.md), the one above ALS on every ranking metric on
    /// MovieLens and the demo silos while keeping test AUC: with NCF's 4 the interaction head
    /// learns too slowly that items of the user's own history come first.
    public init(count: Int = 16, exponent: Double = 0.5) {
        self.count = count
        self.exponent = exponent
    }

    /// The largest count accepted: a group's rows must fit the kernels' scratch.
    public static let maximumCount = 64

    /// Why these settings cannot run, or nil.
    public var problem: String? {
        guard (0...Self.maximumCount).contains(count) else { return "the negatives per click must lie in 0...\(Self.maximumCount), got \(count)" }
        guard exponent.isFinite, (0...2).contains(exponent) else { return "the negative-sampling exponent must lie in [0, 2], got \(exponent)" }
        return nil
    }
}

/// Examples in groups: each labelled row, then the negatives drawn for it, which share its
/// history window. A group is the unit of shuffling and batching (and DP-SGD's unit of
/// privacy); `groupStarts[g]..<groupStarts[g + 1]` are group g's examples.
public struct GroupedExamples: Sendable {
    public let examples: ExampleSet
    public let groupStarts: [Int32]

    public var groupCount: Int { groupStarts.count - 1 }

    /// Every example its own group: the labelled rows as they are.
    public init(ungrouped examples: ExampleSet) {
        self.examples = examples
        groupStarts = (0...Int32(examples.count)).map { $0 }
    }

    init(examples: ExampleSet, groupStarts: [Int32]) {
        self.examples = examples
        self.groupStarts = groupStarts
    }
}

/// Draws the negatives of `NegativeSampling` for one example set.
///
/// Two modes. For plain training, items come from the set's own candidates, weighted by
/// (train rows)^exponent, and a draw that hits one of the user's own train items is drawn
/// again (up to 32 times). Under DP-SGD (`privateDraws`) nothing of the data may steer the
/// draws of another example: items come uniformly from the whole item table, and only the
/// example's own candidate and history are avoided, so an example and its negatives are one
/// unit, added or removed together, which is what the accounting counts.
public struct NegativeSampler: Sendable {
    public let sampling: NegativeSampling
    /// The items drawn from, ascending; empty under `privateDraws` (the whole table).
    private let items: [Int32]
    /// Walker's alias table over `items` (nil: uniform): one draw is an index and a coin.
    private let alias: AliasTable?
    /// User u's train items are `userItems[userStarts[u]..<userStarts[u + 1]]`, ascending.
    private let userStarts: [Int]
    private let userItems: [Int32]
    private let tableRows: Int32
    private let privateDraws: Bool

    /// - Parameters:
    ///   - data: the train examples (their `users` column says whose items are whose).
    ///   - tableRows: the item table's rows (row 0 is padding and never drawn).
    ///   - privateDraws: draw as DP-SGD needs (see the type's comment).
    public init(_ sampling: NegativeSampling, data: ExampleSet, tableRows: Int, privateDraws: Bool = false) {
        self.sampling = sampling
        self.tableRows = Int32(tableRows)
        self.privateDraws = privateDraws
        guard !privateDraws else {
            (items, alias, userStarts, userItems) = ([], nil, [0], [])
            return
        }
        var counts: [Int32: Int] = [:]
        for c in data.candidates { counts[c, default: 0] += 1 }
        items = counts.keys.sorted()
        alias = sampling.exponent == 0 ? nil : AliasTable(weights: items.map { Double.pow(Double(counts[$0]!), sampling.exponent) })
        // Each user's items, by a counting sort on the users column.
        let userCount = Int(data.users.max() ?? -1) + 1
        var starts = [Int](repeating: 0, count: userCount + 1)
        for u in data.users { starts[Int(u) + 1] += 1 }
        for u in 0..<userCount { starts[u + 1] += starts[u] }
        var next = starts, grouped = [Int32](repeating: 0, count: data.count)
        for (i, u) in data.users.enumerated() {
            grouped[next[Int(u)]] = data.candidates[i]
            next[Int(u)] += 1
        }
        var compact: [Int32] = [], compactStarts = [0]
        compact.reserveCapacity(grouped.count)
        for u in 0..<userCount {
            let own = Set(grouped[starts[u]..<starts[u + 1]]).sorted()
            compact.append(contentsOf: own)
            compactStarts.append(compact.count)
        }
        userStarts = compactStarts
        userItems = compact
    }

    /// `data` with `sampling.count` negatives after each clicked example, drawn afresh from
    /// `generator`.
    public func expand(_ data: ExampleSet, using generator: inout SeededGenerator) -> GroupedExamples {
        let k = sampling.count
        guard k > 0, privateDraws || !items.isEmpty else { return GroupedExamples(ungrouped: data) }
        let clicks = data.labels.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }
        var out = ExampleSet(sharingClicksOf: data)
        out.reserveCapacity(examples: data.count + clicks * k, historyItems: 0)
        var starts: [Int32] = []
        starts.reserveCapacity(data.count + 1)
        for i in 0..<data.count {
            starts.append(Int32(out.count))
            let window = data.historyStarts[i]..<data.historyEnds[i]
            let (strategy, user) = (data.strategies[i], data.users[i])
            out.append(candidate: data.candidates[i], strategy: strategy, label: data.labels[i], window: window, user: user)
            guard data.labels[i] == 1 else { continue }
            for _ in 0..<k {
                // A user with every item of the silo has no negative to draw.
                guard let item = privateDraws ? drawPrivately(avoiding: data, i, &generator) : draw(for: user, &generator) else { break }
                out.append(candidate: item, strategy: strategy, label: 0, window: window, user: user)
            }
        }
        starts.append(Int32(out.count))
        return GroupedExamples(examples: out, groupStarts: starts)
    }

    /// An item `user` has no train row of: drawn from the distribution, and after 32 draws
    /// that all hit the user's own items, the next item after the last draw that is not its
    /// own; nil when the user has every item.
    @inline(__always) private func draw(for user: Int32, _ generator: inout SeededGenerator) -> Int32? {
        let u = Int(user)
        let own = u + 1 < userStarts.count ? userItems[userStarts[u]..<userStarts[u + 1]] : []
        var index = 0
        for _ in 0..<32 {
            index = pick(&generator)
            if !own.containsSorted(items[index]) { return items[index] }
        }
        for step in 1..<items.count {
            let item = items[(index + step) % items.count]
            if !own.containsSorted(item) { return item }
        }
        return nil
    }

    /// A row of the whole table other than example `i`'s candidate and history items (after
    /// 32 draws that all hit them, the next such row; nil when there is none).
    @inline(__always) private func drawPrivately(avoiding data: ExampleSet, _ i: Int, _ generator: inout SeededGenerator) -> Int32? {
        let history = data.history(i)
        func avoided(_ item: Int32) -> Bool { item == data.candidates[i] || history.contains(item) }
        var item: Int32 = 1
        for _ in 0..<32 {
            item = 1 + Int32(generator.next() % UInt64(tableRows - 1))
            if !avoided(item) { return item }
        }
        for step in 1..<Int32(tableRows - 1) {
            let next = 1 + (item - 1 + step) % Int32(tableRows - 1)
            if !avoided(next) { return next }
        }
        return nil
    }

    /// An index into `items`, uniform or by the weights.
    @inline(__always) private func pick(_ generator: inout SeededGenerator) -> Int {
        guard let alias else { return Int(generator.next() % UInt64(items.count)) }
        return alias.draw(&generator)
    }
}

/// Walker's alias method (Walker, ACM TOMS 1977; built as Vose, IEEE TSE 1991, does): draws
/// index i with probability weights[i] / sum in O(1), one uniform column and one coin,
/// instead of a binary search over cumulative weights.
struct AliasTable: Sendable {
    /// By column: the chance of keeping it, and the index taken otherwise.
    private let keep: [Double]
    private let other: [Int32]

    /// - Precondition: weights are finite, non-negative, with a positive sum.
    init(weights: [Double]) {
        let n = weights.count, total = weights.reduce(0, +)
        precondition(n > 0 && total > 0 && total.isFinite, "Positive, finite weights.")
        var scaled = weights.map { $0 * Double(n) / total }
        var keep = [Double](repeating: 1, count: n), other = (0..<n).map { Int32($0) }
        var small = scaled.indices.filter { scaled[$0] < 1 }, large = scaled.indices.filter { scaled[$0] >= 1 }
        while let s = small.popLast(), let l = large.popLast() {
            keep[s] = scaled[s]
            other[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 { small.append(l) } else { large.append(l) }
        }
        // What is left is 1 up to rounding: kept whole.
        self.keep = keep
        self.other = other
    }

    @inline(__always) func draw(_ generator: inout SeededGenerator) -> Int {
        // The column from the high half of a 128-bit product (a bias of n / 2^64 at most), the
        // coin from a second draw.
        let column = Int(generator.next().multipliedFullWidth(by: UInt64(keep.count)).high)
        return generator.nextUnit() < keep[column] ? column : Int(other[column])
    }
}

extension ArraySlice where Element == Int32 {
    /// Whether the (ascending) slice holds `item`: a binary search.
    @inline(__always) func containsSorted(_ item: Int32) -> Bool {
        var (low, high) = (startIndex, endIndex)
        while low < high {
            let mid = (low + high) / 2
            if self[mid] < item { low = mid + 1 } else { high = mid }
        }
        return low < endIndex && self[low] == item
    }
}
