import ArgumentParser
import FedAttnCommandLine
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import FedAttnTransport
import Foundation

extension CoordinatorCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a federation: wait for clients, run the rounds, publish each model to the state folder.")

        @Option(name: .long, help: "Address to listen on.") var host = "0.0.0.0"
        @Option(name: .long, help: "Port to listen on (0 picks a free one and prints it).") var port = 7443
        @OptionGroup var security: SecurityOptions
        @Option(
            name: .long,
            help:
                "State folder: published models (round-NNN.safetensors) and history.sqlite. Started again on the same folder, the coordinator resumes."
        )
        var state: String
        @OptionGroup var settings: FederationSettings

        func validate() throws {
            guard (0...65_535).contains(port) else { throw ValidationError("--port \(port) is not a port: give 0...65535 (0 picks a free one)") }
            _ = try settings.resolve()
        }

        func run() async throws {
            MallocTuning.returnLargeBlocksToTheSystem()
            let (modelConfig, config) = try settings.resolve()
            let store = try StateStore(folder: state)
            let resumed = try store.rounds().last
            let coordinator = try Coordinator(
                modelConfig: modelConfig, config: config, initialModel: try AttentionModel(config: modelConfig, seed: config.plan.seed),
                store: store, log: log)
            if let resumed {
                log(
                    "resuming from \(state): round \(resumed.round) is the last published (\(resumed.evaluation == nil ? "not yet evaluated" : "evaluated"))"
                )
            }
            try await withCoordinatorServer(coordinator, host: host, port: port, security: try security.security(), log: log) { port in
                log("listening on \(host.contains(":") ? "[\(host)]" : host):\(port); waiting for \(config.minClients) client(s) to join")
                var shown = await coordinator.history.count
                while true {
                    let history = await coordinator.history
                    for record in history.dropFirst(shown) {
                        let auc = record.testAUC.map { String(format: "%.4f", $0) } ?? "n/a"
                        let retried = record.retries.isEmpty ? "" : "; retried: " + record.retries.joined(separator: "; ")
                        log(
                            String(
                                format: "round %d: %d clients, %d examples, test AUC %@, %.2f s", record.round, record.participants.count,
                                record.examples, auc, record.seconds) + retried)
                    }
                    shown = history.count
                    if await coordinator.isDone { break }
                    // glibc keeps freed buffers of finished calls in its arenas; given back
                    // five times a second, they no longer add to the next peak (10 MB at 200
                    // clients, at no measurable cost).
                    MallocTuning.giveBackFreePages()
                    try await Task.sleep(for: .milliseconds(200))
                }
                // Keep answering for a moment so that every client's next poll hears DONE.
                try await Task.sleep(for: .seconds(3))
                log("stopped; peak memory \(ResourceUsage.peakResidentBytes() ?? 0) bytes")
            }
        }

    }
}

func log(_ line: String) {
    FileHandle.standardError.write(Data("\(line)\n".utf8))
}
