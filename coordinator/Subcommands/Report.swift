import ArgumentParser
import FedAttnFederation
import FedAttnSimulation
import Foundation

extension CoordinatorCommand {
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an HTML report of a state folder's rounds: plots per round, the kept round marked, the settings.")

        @Option(name: .long, help: "The coordinator's state folder.") var state: String
        @Option(name: .long, help: "The HTML file to write.") var out: String

        func run() async throws {
            guard FileManager.default.fileExists(atPath: (state as NSString).appendingPathComponent("history.sqlite")) else {
                throw ValidationError("\(state): no history.sqlite; is this a coordinator's state folder?")
            }
            let store = try StateStore.reading(folder: state)
            let records = try store.rounds().compactMap(\.evaluation)
            // None in a folder from before it (or not yet migrated).
            let popularity = (try? store.popularity())?.baseline
            let best = ModelSelection(patience: 0, metric: recordedSelection(state), replaying: records).bestRound
            // serve's settings, by their ordered keys ("NNN name").
            var settings: [(name: String, value: String)] = [("state folder", state)]
            if let data = FileManager.default.contents(atPath: (state as NSString).appendingPathComponent("settings.json")),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: String]
            {
                settings += object.sorted { $0.key < $1.key }.map { (String($0.key.drop { $0 != " " }.dropFirst()), $0.value) }
            }
            let page = ReportPage(
                title: "FedAttention federation: \((state as NSString).lastPathComponent), \(records.count) rounds evaluated",
                rounds: records.map(ReportRound.init), bestRound: best, settings: settings, popularity: popularity)
            do {
                try Data(page.html().utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw ValidationError("--out \(out): cannot write the report there: \(error.localizedDescription)")
            }
            print("report written to \(out): \(records.count) rounds\(best.map { ", round \($0) kept" } ?? "")")
        }
    }
}
