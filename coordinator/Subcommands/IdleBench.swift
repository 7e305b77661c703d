import ArgumentParser
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import Foundation

extension CoordinatorCommand {
    struct IdleBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "idle-bench",
            abstract: "Measure what waiting clients cost the coordinator: wake-ups and CPU while no round can start.",
            discussion: """
                Joins --clients clients to an in-process coordinator that needs one more, so no round starts, and has \
                each ask for its next task again and again (the long poll) for --seconds. Prints the coordinator's \
                wake-ups per second per waiting client and the process's CPU seconds per second.
                """)

        @Option(name: .long, help: "Waiting clients.") var clients = 200
        @Option(name: .long, help: "Seconds to measure.") var seconds = 5
        @Flag(name: .long, help: "Print one JSON object instead of a table.") var json = false

        func validate() throws {
            guard clients >= 1, seconds >= 1 else { throw ValidationError("--clients and --seconds must be at least 1") }
        }

        func run() async throws {
            let model = ModelConfig(items: .catalogue(items: 1_000))
            let coordinator = try Coordinator(
                modelConfig: model, config: CoordinatorConfig(minClients: clients + 1), initialModel: try AttentionModel(config: model, seed: 0))
            for i in 0..<clients {
                try await coordinator.join(client: "idle-\(i)", protocolVersion: Coordinator.protocolVersion, trainExamples: 1)
            }
            let cpuBefore = ResourceUsage.cpuSeconds()
            let until = ContinuousClock.now + .seconds(seconds)
            let polls = await withTaskGroup(of: Int.self) { group in
                for i in 0..<clients {
                    group.addTask {
                        var polls = 0
                        while ContinuousClock.now < until {
                            _ = try? await coordinator.nextTask(client: "idle-\(i)")
                            polls += 1
                        }
                        return polls
                    }
                }
                return await group.reduce(0, +)
            }
            let cpu = ResourceUsage.cpuSeconds() - cpuBefore
            let wakeups = coordinator.wakeups
            let result: [String: Double] = [
                "clients": Double(clients), "seconds": Double(seconds), "long_polls": Double(polls),
                "wakeups_per_second_per_client": Double(wakeups) / Double(seconds) / Double(clients),
                "cpu_seconds_per_second": cpu / Double(seconds),
            ]
            if json {
                let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("waiting clients                  \(clients), \(seconds) s")
                print("long polls answered              \(polls)")
                print(String(format: "wake-ups per second per client   %.2f", result["wakeups_per_second_per_client"]!))
                print(String(format: "CPU seconds per second           %.4f", result["cpu_seconds_per_second"]!))
            }
        }
    }
}
