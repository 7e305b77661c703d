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
        let wanted = RankingSums.negatives
        let available = vocabulary.count - own.count  // every interacted item is in the vocabulary
        var generator = SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(user))
        if available <= 2 * wanted {
            // Few to choose from: shuffle them all and take the first.
            var all = vocabulary.filter { !own.containsSorted($0) }
            all.shuffle(using: &generator)
            return Array(all.prefix(wanted))
        }
        var chosen = Set<Int32>()
        var drawn: [Int32] = []
        while drawn.count < wanted {
            let item = vocabulary[Int(generator.next() % UInt64(vocabulary.count))]
            if !own.containsSorted(item), chosen.insert(item).inserted { drawn.append(item) }
        }
        return drawn
    }
}

extension RankingSet {
    /// The items a target is ranked among over the whole catalogue: every row of a
    /// `catalogue:N` table (1...N); for a hashed table, whose rows are buckets rather than
    /// items, the items this silo's data names (`vocabulary`).
    public func catalogue(for items: ItemMapping) -> [Int32] {
        switch items {
        case .catalogue(let count): Array(1...Int32(count))
        case .hashed: vocabulary
        }
    }

    /// Whether user `user` interacted with `item`.
    func hasInteracted(_ user: Int, _ item: Int32) -> Bool {
        interacted[interactedStarts[user]..<interactedStarts[user + 1]].containsSorted(item)
    }

    /// Ranking sums for any scorer: `score` gives one score per example of the batches it is
    /// handed (a higher score ranks first). Each user's target is ranked among its sampled
    /// negatives (`negatives(of:seed:)`: HR@10, NDCG@10; a user with fewer than 99 items to
    /// draw from is not ranked there, a short list would make hits easy) and, given a
    /// `catalogue`, among every catalogue item it never interacted with (Recall@20,
    /// NDCG@20). A rank is the number of others scoring at least as high: ties count against
    /// the target. Each user's candidates share one copy of its history.
    public func rank(seed: UInt64 = 0, catalogue: [Int32]?, score: (ExampleSet) -> [Float]) -> RankingSums {
        var sums = RankingSums()
        // About 32k candidates a batch: the catalogue's size decides how many users that is.
        let perUser = 1 + RankingSums.negatives + (catalogue?.count ?? 0)
        let usersPerBatch = max(1, min(256, 32_768 / perUser))
        var first = 0
        while first < count {
            let users = first..<min(count, first + usersPerBatch)
            var batch = ExampleSet()
            var lists: [(sampled: Int, catalogue: Int)] = []
            for user in users {
                let negatives = self.negatives(of: user, seed: seed)
                let sampled = negatives.count == RankingSums.negatives
                let start = batch.clickCount
                for item in targets.history(user) { batch.appendClick(item) }
                let window = start..<batch.clickCount
                let (strategy, target) = (targets.strategies[user], targets.candidates[user])
                batch.append(candidate: target, strategy: strategy, label: 1, window: window)
                if sampled {
                    for item in negatives { batch.append(candidate: item, strategy: strategy, label: 0, window: window) }
                }
                var others = 0
                for item in catalogue ?? [] where !hasInteracted(user, item) {
                    batch.append(candidate: item, strategy: strategy, label: 0, window: window)
                    others += 1
                }
                lists.append((sampled ? negatives.count : 0, catalogue == nil ? -1 : others))
            }
            let scores = score(batch)
            var offset = 0
            for list in lists {
                let target = scores[offset]
                offset += 1
                if list.sampled > 0 {
                    sums.add(rank: scores[offset..<(offset + list.sampled)].reduce(0) { $0 + ($1 >= target ? 1 : 0) })
                    offset += list.sampled
                }
                if list.catalogue >= 0 {
                    sums.add(catalogueRank: scores[offset..<(offset + list.catalogue)].reduce(0) { $0 + ($1 >= target ? 1 : 0) })
                    offset += list.catalogue
                }
            }
            first = users.upperBound
        }
        return sums
    }
}

extension AttentionModel {
    /// The model's ranking sums over `set` (`RankingSet.rank`), sampled and, unless
    /// `wholeCatalogue` is false, over the whole catalogue (`RankingSet.catalogue(for:)`).
    public func rank(_ set: RankingSet, seed: UInt64 = 0, threads: Int = 1, wholeCatalogue: Bool = true) -> RankingSums {
        set.rank(seed: seed, catalogue: wholeCatalogue ? set.catalogue(for: config.items) : nil) { rankingScores(for: $0, threads: threads) }
    }
}
