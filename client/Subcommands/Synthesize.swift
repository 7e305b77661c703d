import ArgumentParser
import FedAttnData
import Foundation

extension ClientCommand {
    struct Synthesize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "synthesize",
            abstract: "Write synthetic silo files with planted structure (topics, drifting interests, strategies).",
            discussion: "Without size options it writes the built-in demo data. Scale --users up for benchmark workloads of millions of rows.")

        @Option(name: .long, help: "The folder to write silo-NN.csv files into.")
        var out: String

        @Option(name: .long, help: "How many silo files.")
        var silos = 10

        @Option(name: .long, help: "How users are dealt to silos: iid or dirichlet:ALPHA (grouped by favourite topic).")
        var scheme = "iid"

        @Option(name: .long) var users = SyntheticGenerator.Config.demo.users
        @Option(name: .long) var items = SyntheticGenerator.Config.demo.items
        @Option(name: .long) var topics = SyntheticGenerator.Config.demo.topics
        @Option(name: .long) var strategies = SyntheticGenerator.Config.demo.strategies
        @Option(name: .long, help: "Mean rows per user (at least 5).") var rowsPerUser = SyntheticGenerator.Config.demo.rowsPerUser
        @Flag(name: .long, help: "Item ids like SKU-000042 (train them with --items hash:B).") var sku = false
        @Option(name: .long) var seed: UInt64 = SyntheticGenerator.Config.demo.seed

        func validate() throws {
            guard silos >= 1 else { throw ValidationError("--silos must be at least 1") }
            guard SiloScheme(scheme) != nil else { throw ValidationError("--scheme must be iid or dirichlet:ALPHA with ALPHA > 0") }
            guard users >= 1, items >= 1, topics >= 1, strategies >= 1 else { throw ValidationError("sizes must be at least 1") }
            guard rowsPerUser >= 5 else { throw ValidationError("--rows-per-user must be at least 5") }
        }

        func run() async throws {
            let generator = SyntheticGenerator(
                config: .init(
                    users: users, items: items, topics: topics, strategies: strategies, rowsPerUser: rowsPerUser,
                    skuItemIDs: sku, seed: seed))
            let log = generator.generate()
            let topicOf = generator.itemTopics()
            let parts = SiloSplitter(silos: silos, scheme: SiloScheme(scheme)!, seed: seed).split(log) { topicOf[$0] }
            let paths = try ClickLogWriter.writeSilos(parts, to: out, includeStrategy: true)
            for (path, part) in zip(paths, parts) { print("\(path)  \(part.count) rows  \(part.userIDs.count) users") }
            print("item mapping for these ids: --items \(generator.config.itemMapping) --strategies \(strategies)")
        }
    }
}
