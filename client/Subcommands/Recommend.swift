import ArgumentParser
import FedAttnCore
import FedAttnData
import FedAttnModel
import Foundation

extension ClientCommand {
    struct Recommend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The items a saved model ranks highest for one user (--user) or every user of the data (--all).",
            discussion: """
                Candidates are the catalogue's items (catalogue:N) or every item id the data \
                holds (hash:B), less the items the user already has (--keep-seen keeps them) and \
                those of --exclude. Items are ranked by the probability of an interaction and a \
                click. A user without a click in the data, or one the data does not know, is \
                served the items with the most rows. --all writes user,rank,item,score (and \
                name, with --item-names) as CSV, or JSON lines for a .jsonl file.
                """)

        @Option(name: .long, help: "A model written by `train --out` or `join --model-out` (.safetensors).")
        var model: String

        @OptionGroup var dataOptions: DataOptions

        @Option(name: .long, help: "One user's id, as written in the data (an unknown id gets the most popular items).")
        var user: String?

        @Flag(name: .long, help: "Recommend for every user of the data, in one pass.")
        var all = false

        @Option(name: .long, help: "With --all: the file to write (.csv, or .jsonl for JSON lines); standard output without it.")
        var out: String?

        @Option(name: .long, help: "How many items to list per user.")
        var k = 10

        @Option(name: .long, help: "The recommendation strategy the items would be shown under.")
        var strategy: Int32 = 0

        @Option(name: .long, help: "Item names: MovieLens u.item (id|title|...) or a CSV of item_id,name.")
        var itemNames: String?

        @Option(name: .long, help: "Item ids never to recommend, one per line (or the first column of a CSV).")
        var exclude: String?

        @Flag(name: .long, help: "Also recommend items the user already has in the data.")
        var keepSeen = false

        @Option(
            name: .long,
            help:
                "Re-rank for variety by maximal marginal relevance (Carbonell and Goldstein 1998): 0 by score alone, up to 1; 0.3 trades a little relevance for lists of less alike items."
        )
        var diversity: Float = 0

        @Option(name: .long, help: "Worker threads for scoring.")
        var threads = 1

        @Flag(name: .long, help: "With --user: print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            guard k >= 1 else { throw ValidationError("--k must be at least 1") }
            guard (user == nil) != !all else { throw ValidationError("give --user ID or --all, one of them") }
            guard out == nil || all else { throw ValidationError("--out goes with --all") }
            guard diversity >= 0, diversity <= 1 else { throw ValidationError("--diversity must lie in [0, 1], got \(diversity)") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        }

        func run() async throws {
            let model = try ModelFile.load(from: model)
            guard strategy >= 0, Int(strategy) < model.config.strategies else {
                throw ValidationError("--strategy \(strategy) is not in 0..<\(model.config.strategies), the model's strategies")
            }
            let log = try dataOptions.loadLog(config: model.config)
            let names = try itemNames.map(ItemNames.read) ?? [:]
            let excluded = try exclude.map(ItemNames.readIDs) ?? []
            let recommender = Recommender(model: model)
            let clock = ContinuousClock.now
            if let user {
                let known = log.user(named: user)
                let list = recommender.recommendations(
                    in: log, users: known.map { [$0] } ?? [], unknown: known == nil ? [user] : [], strategy: strategy, k: k, keepSeen: keepSeen,
                    excludedIDs: excluded, diversity: diversity, threads: threads)[0]
                let result = RecommendResult(
                    user: user, strategy: strategy, popular: list.popular,
                    items: list.items.map { .init(item: $0.itemID, score: Double($0.score), name: names[$0.itemID]) })
                print(json ? try encodeJSON(result) : result.table())
                return
            }
            let lists = recommender.recommendations(
                in: log, strategy: strategy, k: k, keepSeen: keepSeen, excludedIDs: excluded, diversity: diversity, threads: threads)
            let seconds = (ContinuousClock.now - clock).seconds
            try RecommendationWriter.write(lists, names: names, to: out)
            let popular = lists.filter(\.popular).count
            FileHandle.standardError.write(
                Data(
                    String(
                        format:
                            "%d users (%d served the popular items: no click to attend over), %d items each, in %.2f s: %.0f users/s; peak memory %d MB%@\n",
                        lists.count, popular, k, seconds, Double(lists.count) / max(seconds, 1e-9), (ResourceUsage.peakResidentBytes() ?? 0) >> 20,
                        out.map { "; written to \($0)" } ?? ""
                    ).utf8))
        }
    }
}

struct RecommendResult: Encodable {
    struct Item: Encodable {
        let item: String
        let score: Double
        let name: String?
    }
    let user: String
    let strategy: Int32
    /// The user had no click to attend over (or is unknown): the most popular items.
    let popular: Bool
    let items: [Item]

    func table() -> String {
        var lines = ["rank  item" + String(repeating: " ", count: 12) + (popular ? "share of rows (most popular items)" : "score")]
        for (rank, entry) in items.enumerated() {
            lines.append(
                String(format: "%4d  ", rank + 1) + entry.item.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + String(format: "%.4f", entry.score) + (entry.name.map { "  \($0)" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}
