import ArgumentParser
import FedAttnCommandLine
import FedAttnData
import FedAttnFederation
import FedAttnModel
import FedAttnTransport
import Foundation
import GRPCCore
import Synchronization

extension ClientCommand {
    struct Join: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join a federation: train on this silo's data when asked, send only deltas and aggregate metrics.")

        @Option(name: .long, help: "The coordinator, HOST:PORT.") var coordinator: String
        @OptionGroup var security: SecurityOptions
        @Option(name: .long, help: "With --insecure only: the name this client goes by (otherwise its certificate's).") var name: String?
        @Option(name: .long, help: "This silo's click log: a CSV file or a folder of them.") var data: String
        @Option(name: .long, help: "Item id mapping; must match the coordinator's.") var items = "catalogue:1682"
        @Option(name: .long) var strategies = 1
        @Flag(name: .long, help: "Skip malformed rows and report how many.") var skipMalformed = false
        @Option(name: .long, help: "Threads for local training.") var threads = 1
        @Option(
            name: .long, help: "Seconds to keep trying a coordinator that is down or restarting, or that still holds this silo's previous connection."
        )
        var retryFor = 600

        func validate() throws {
            guard ItemMapping(items) != nil else { throw ValidationError("--items must be catalogue:N or hash:B") }
            guard let colon = coordinator.lastIndex(of: ":"), let port = Int(coordinator[coordinator.index(after: colon)...]) else {
                throw ValidationError("--coordinator must be HOST:PORT")
            }
            guard (1...65_535).contains(port) else { throw ValidationError("--coordinator \(coordinator): port \(port) is not in 1...65535") }
            if security.insecure && name == nil { throw ValidationError("--insecure needs --name") }
        }

        func run() async throws {
            let model = ModelConfig(items: ItemMapping(items)!, strategies: strategies)
            let log = try ClickLogReader(items: model.items, strategies: model.strategies, skipMalformed: skipMalformed).read(path: data)
            let (train, test) = ExampleBuilder(historyLength: model.historyLength).build(log)
            guard !train.isEmpty else { throw DataError.noTrainingExamples(path: data, rows: log.count, users: log.userIDs.count) }
            let progress = Progress(enabled: true)
            progress.line("silo: \(train.count) train and \(test.count) test examples" + skippedNote(log))
            let colon = coordinator.lastIndex(of: ":")!
            let host = String(coordinator[..<colon]), port = Int(coordinator[coordinator.index(after: colon)...])!
            let participant = Participant(train: train, test: test, threads: threads)
            let security = try self.security.security()
            var delay = 0.5
            let heartbeat = Heartbeat()
            while true {
                do {
                    try await withFederationLink(host: host, port: port, security: security, insecureName: name) { link in
                        try await participant.run(link: link, expectedModel: model) { event in
                            heartbeat.beat()
                            switch event {
                            case .joined(let info): progress.line("joined as \(info.clientID); \(info.rounds) rounds")
                            case .training(let round, let examples): progress.line("round \(round): training on \(examples) examples")
                            case .progress(let round, let epoch, let epochs, let done):
                                progress.update("round \(round): epoch \(epoch)/\(epochs), \(done) examples")
                            case .uploaded(let round, let bytes, let loss, let seconds):
                                progress.line(String(format: "round %d: sent %d bytes (train loss %.4f, %.2f s)", round, bytes, loss, seconds))
                            case .evaluated(let round, let examples): progress.line("round \(round): evaluated on \(examples) test examples")
                            case .dropped(let round, let reason): progress.line("round \(round): not counted (\(reason)); carrying on")
                            case .done: progress.line("federation done")
                            }
                        }
                    }
                    return
                } catch let error as RPCError where [.unavailable, .cancelled, .alreadyExists].contains(error.code) {
                    // The coordinator is down or restarting, or still holds this silo's previous
                    // connection (after a network cut it notices only at that connection's idle
                    // timeout): come back with exponential backoff and jitter, so that silos do
                    // not all return at once.
                    guard heartbeat.sinceLast < .seconds(retryFor) else { throw error }
                    let wait = delay * Double.random(in: 0.5...1.5)
                    let why = error.code == .alreadyExists ? "refused" : "coordinator unreachable"
                    progress.line(String(format: "%@ (%@); retrying in %.1f s", why, error.message, wait))
                    try await Task.sleep(for: .seconds(wait))
                    delay = min(delay * 2, 10)
                }
            }
        }
    }
}

/// When the client last made progress, written from the participant's events.
private final class Heartbeat: Sendable {
    private let last = Mutex(ContinuousClock.now)
    func beat() { last.withLock { $0 = ContinuousClock.now } }
    var sinceLast: Duration { ContinuousClock.now - last.withLock { $0 } }
}
