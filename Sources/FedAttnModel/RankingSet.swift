public import FedAttnCore

/// The leave-one-out ranking cases of a silo's users (He et al., "Neural Collaborative
/// Filtering", WWW 2017): per user with a clicked test row, its last clicked test item with
/// that row's history and strategy (`targets`, one example a user), the items the user
/// interacted with, and the items the silo's data knows (`vocabulary`), from which the
/// negatives are drawn. Kept compact (the negatives are drawn when ranking, from a seed): a
/// user costs its target example and its interacted items.
public struct RankingSet: Sendable, Equatable {
    /// One example per user: the item to rank, with its row's history and strategy.
    public private(set) var targets = ExampleSet()
    /// User i's interacted items are `interacted[interactedStarts[i]..<interactedStarts[i + 1]]`, ascending.
    public private(set) var interactedStarts: [Int] = [0]
    public private(set) var interacted: [Int32] = []
    /// Every item row of the data, ascending, each once.
    public private(set) var vocabulary: [Int32] = []

    public init() {}

    public var count: Int { targets.count }

    /// Adds a user: `target` (its last clicked test item) with `history` and `strategy`, and
    /// every item it interacted with (any order, repeats allowed).
    public mutating func append(target: Int32, strategy: Int32, history: some Collection<Int32>, interacted items: some Sequence<Int32>) {
        targets.append(candidate: target, strategy: strategy, label: 1, history: history)
        interacted.append(contentsOf: Set(items).sorted())
        interactedStarts.append(interacted.count)
    }

    /// Sets the items negatives are drawn from (any order, repeats allowed).
    public mutating func setVocabulary(_ items: some Sequence<Int32>) {
        vocabulary = Set(items).sorted()
    }

    /// User `user`'s negatives: `RankingSums.negatives` items of the vocabulary it never
    /// interacted with, drawn uniformly without replacement by a generator seeded from
    /// (`seed`, `user`); all of them when there are no more.
    public func negatives(of user: Int, seed: UInt64) -> [Int32] {
        let own = interacted[interactedStarts[user]..<interactedStarts[user + 1]]
        func isOwn(_ item: Int32) -> Bool {
            var (low, high) = (own.startIndex, own.endIndex)
            while low < high {
                let mid = (low + high) / 2
                if own[mid] < item { low = mid + 1 } else { high = mid }
            }
            return low < own.endIndex && own[low] == item
        }
        let wanted = RankingSums.negatives
        let available = vocabulary.count - own.count  // every interacted item is in the vocabulary
        var generator = SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(user))
        if available <= 2 * wanted {
            // Few to choose from: shuffle them all and take the first.
            var all = vocabulary.filter { !isOwn($0) }
            all.shuffle(using: &generator)
            return Array(all.prefix(wanted))
        }
        var chosen = Set<Int32>()
        var drawn: [Int32] = []
        while drawn.count < wanted {
            let item = vocabulary[Int(generator.next() % UInt64(vocabulary.count))]
            if !isOwn(item), chosen.insert(item).inserted { drawn.append(item) }
        }
        return drawn
    }
}

extension AttentionModel {
    /// HR@10 and NDCG@10 sums over `set`'s users: each target scored beside its negatives
    /// (`RankingSet.negatives(of:seed:)`) with the target's history and strategy; its rank is
    /// the number of negatives scoring at least as high (ties count against it). A user with
    /// fewer than 99 items to draw from is not ranked (a short list would make hits easy).
    public func rank(_ set: RankingSet, seed: UInt64 = 0, threads: Int = 1) -> RankingSums {
        var sums = RankingSums()
        let usersPerBatch = 256
        var first = 0
        while first < set.count {
            let users = first..<min(set.count, first + usersPerBatch)
            // Each user's candidates share one copy of its history.
            var batch = ExampleSet()
            var sizes: [Int] = []
            for user in users {
                let negatives = set.negatives(of: user, seed: seed)
                guard negatives.count == RankingSums.negatives else { continue }
                let start = batch.clickCount
                for item in set.targets.history(user) { batch.appendClick(item) }
                let window = start..<batch.clickCount
                let strategy = set.targets.strategies[user]
                batch.append(candidate: set.targets.candidates[user], strategy: strategy, label: 1, window: window)
                for item in negatives { batch.append(candidate: item, strategy: strategy, label: 0, window: window) }
                sizes.append(1 + negatives.count)
            }
            let scores = logits(for: batch, threads: threads)
            var offset = 0
            for size in sizes {
                let target = scores[offset]
                let rank = scores[(offset + 1)..<(offset + size)].reduce(0) { $0 + ($1 >= target ? 1 : 0) }
                sums.add(rank: rank)
                offset += size
            }
            first = users.upperBound
        }
        return sums
    }
}
