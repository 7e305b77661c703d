import ArgumentParser
import FedAttnCore
import FedAttnData
import FedAttnModel
import Foundation

extension ClientCommand {
    struct Split: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Partition a click log into silo files by user, IID or Dirichlet non-IID, seeded.")

        @Option(name: .long, help: "A click log (CSV with a header, or MovieLens u.data).")
        var data: String

        @Option(name: .long, help: "The folder to write silo-NN.csv files into.")
        var out: String

        @Option(name: .long, help: "How many silos.")
        var silos = 10

        @Option(name: .long, help: "iid, or dirichlet:ALPHA: users grouped by favourite item group, each group spread with Dirichlet(ALPHA) shares.")
        var scheme = "iid"

        @Option(
            name: .long,
            help: "A CSV of item_id,group (or MovieLens u.item: a user's group is then their favourite genre). Default: a hash of the favourite item."
        )
        var itemGroups: String?

        @Option(name: .long) var seed: UInt64 = 0

        @Flag(name: .long, help: "Skip malformed rows and report how many.")
        var skipMalformed = false

        func validate() throws {
            guard silos >= 1 else { throw ValidationError("--silos must be at least 1") }
            guard SiloScheme(scheme) != nil else { throw ValidationError("--scheme must be iid or dirichlet:ALPHA with ALPHA > 0") }
        }

        func run() async throws {
            // Splitting keeps ids as written: accept any item id and any strategy.
            let reader = ClickLogReader(items: .hashed(buckets: 1 << 30), strategies: Int(Int32.max), skipMalformed: skipMalformed)
            let log = try reader.readFile(data)
            let groups = try itemGroups.map(ItemGroups.read)
            let parts = SiloSplitter(silos: silos, scheme: SiloScheme(scheme)!, seed: seed).split(log) { groups?[$0] }
            let withStrategy = log.strategies.contains { $0 != 0 }
            let paths = try ClickLogWriter.writeSilos(parts, to: out, includeStrategy: withStrategy)
            for (path, part) in zip(paths, parts) { print("\(path)  \(part.count) rows  \(part.userIDs.count) users") }
            if log.skippedRows > 0 { print("skipped \(log.skippedRows) malformed rows (first: \(log.skippedExamples.first ?? ""))") }
        }
    }
}
