import ArgumentParser
import FedAttnFederation
import Foundation

extension CoordinatorCommand {
    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the round history kept in a state folder.")

        @Option(name: .long, help: "The coordinator's state folder.") var state: String
        @Flag(name: .long, help: "Print one JSON object instead of a table.") var json = false

        func run() async throws {
            guard FileManager.default.fileExists(atPath: (state as NSString).appendingPathComponent("history.sqlite")) else {
                throw ValidationError("\(state): no history.sqlite; is this a coordinator's state folder?")
            }
            let rounds = try StateStore.reading(folder: state).rounds()
            if json {
                let objects: [[String: Any]] = rounds.map { r in
                    var o: [String: Any] = [
                        "round": r.round, "version": r.version, "model_file": r.modelFile, "participants": r.participants,
                        "examples": r.examples, "bytes_up_per_client": r.bytesUpPerClient, "train_seconds_max": r.trainSecondsMax,
                        "evaluated": r.evaluation != nil,
                    ]
                    if let e = r.evaluation {
                        o["test_auc"] = e.testAUC ?? NSNull()
                        o["test_logloss"] = e.testLogLoss ?? NSNull()
                        o["evaluated_clients"] = e.evaluatedClients
                        o["bytes_down_per_client"] = e.bytesDownPerClient
                        o["seconds"] = e.seconds
                        o["retries"] = e.retries
                    }
                    return o
                }
                let data = try JSONSerialization.data(withJSONObject: ["rounds": objects], options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("round  version           clients  examples  test AUC  log loss  bytes up  seconds  retries")
            for r in rounds {
                let e = r.evaluation
                print(
                    String(
                        format: "%5d  %@  %7d  %8d  %8@  %8@  %8d  %7@  %@", r.round, String(r.version.prefix(16)), r.participants.count, r.examples,
                        e?.testAUC.map { String(format: "%.4f", $0) } ?? "-", e?.testLogLoss.map { String(format: "%.4f", $0) } ?? "-",
                        r.bytesUpPerClient, e.map { String(format: "%.2f", $0.seconds) } ?? "-",
                        e.map { $0.retries.joined(separator: "; ") } ?? "not evaluated"))
            }
        }
    }
}
