import ArgumentParser
import FedAttnData
import FedAttnModel
import Foundation

extension ClientCommand {
    struct Recommend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The items a saved model ranks highest for one user, given their click history.",
            discussion: """
                Candidates are the catalogue's items (catalogue:N) or every item id the data \
                holds (hash:B), less the items the user already has in the data.
                """)

        @Option(name: .long, help: "A model written by `train --out` (.safetensors).")
        var model: String

        @OptionGroup var dataOptions: DataOptions

        @Option(name: .long, help: "The user's id, as written in the data.")
        var user: String

        @Option(name: .long, help: "How many items to list.")
        var k = 10

        @Option(name: .long, help: "The recommendation strategy the items would be shown under.")
        var strategy: Int32 = 0

        @Flag(name: .long, help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            guard k >= 1 else { throw ValidationError("--k must be at least 1") }
        }

        func run() async throws {
            let model = try ModelFile.load(from: model)
            guard strategy >= 0, Int(strategy) < model.config.strategies else {
                throw ValidationError("--strategy \(strategy) is not in 0..<\(model.config.strategies), the model's strategies")
            }
            let log = try dataOptions.loadLog(config: model.config)
            guard let userIndex = log.user(named: user) else { throw DataError.unknownUser(id: user) }
            let recommender = Recommender(model: model)
            let ranked = recommender.topItems(for: userIndex, in: log, strategy: strategy, k: k)
            let result = RecommendResult(user: user, strategy: strategy, items: ranked.map { .init(item: $0.itemID, score: Double($0.score)) })
            print(json ? try encodeJSON(result) : result.table())
        }
    }
}

struct RecommendResult: Encodable {
    struct Item: Encodable {
        let item: String
        let score: Double
    }
    let user: String
    let strategy: Int32
    let items: [Item]

    func table() -> String {
        var lines = ["rank  item" + String(repeating: " ", count: 12) + "click probability"]
        for (rank, entry) in items.enumerated() {
            lines.append(
                String(format: "%4d  ", rank + 1) + entry.item.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + String(format: "%.4f", entry.score))
        }
        return lines.joined(separator: "\n")
    }
}
