import ArgumentParser
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
        @Option(name: .long, help: "Folder for the published models (round-NNN.safetensors).") var state: String
        @Option(name: .long) var rounds = 20
        @Option(name: .long, help: "Clients to wait for before the first round.") var minClients = 1
        @Option(name: .long, help: "Clients per round; 0 takes every joined client.") var clientsPerRound = 0
        @Option(name: .long, help: "The fewest updates a round may close with at its timeout.") var quorum = 1
        @Option(name: .long, help: "Seconds a round waits for updates.") var roundTimeout = 300
        @Option(name: .long) var localEpochs = 1
        @Option(name: .long) var learningRate: Float = 1e-3
        @Option(name: .long) var batchSize = 256
        @Option(name: .long, help: "FedProx strength mu (0: plain FedAvg).") var proximalMu: Float = 0.005
        @Option(name: .long, help: "Item id mapping every silo uses: catalogue:N or hash:B.") var items = "catalogue:1682"
        @Option(name: .long) var strategies = 1
        @Option(name: .long, help: "Seed of the initial model.") var seed: UInt64 = 0

        func validate() throws {
            guard ItemMapping(items) != nil else { throw ValidationError("--items must be catalogue:N or hash:B") }
            guard rounds >= 1, minClients >= 1, quorum >= 1, roundTimeout >= 1, localEpochs >= 1, batchSize >= 1 else {
                throw ValidationError("--rounds, --min-clients, --quorum, --round-timeout, --local-epochs and --batch-size must be at least 1")
            }
        }

        func run() async throws {
            let modelConfig = ModelConfig(items: ItemMapping(items)!, strategies: strategies)
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            let plan = LocalTrainingPlan(epochs: localEpochs, batchSize: batchSize, learningRate: learningRate, seed: seed, proximalMu: proximalMu)
            let config = CoordinatorConfig(
                rounds: rounds, minClients: minClients, clientsPerRound: clientsPerRound, quorum: quorum,
                roundTimeout: .seconds(roundTimeout), plan: plan)
            let folder = state
            let coordinator = try Coordinator(
                modelConfig: modelConfig, config: config, initialModel: try AttentionModel(config: modelConfig, seed: seed)
            ) { round, model, version in
                try ModelFile.save(model, to: (folder as NSString).appendingPathComponent(String(format: "round-%03d.safetensors", round)))
                log("round \(round): published version \(version.prefix(16))")
            }
            try await withCoordinatorServer(coordinator, host: host, port: port, security: try security.security()) { port in
                log("listening on \(host):\(port); waiting for \(minClients) client(s)")
                for record in await Self.follow(coordinator) {
                    log(
                        String(
                            format: "round %d: %d clients, test AUC %@, %.2f s", record.round, record.participants.count,
                            record.testAUC.map { String(format: "%.4f", $0) } ?? "n/a", record.seconds))
                }
                log("done: \(rounds) rounds")
            }
        }

        /// Every round as it is recorded, until the federation is done.
        static func follow(_ coordinator: Coordinator) async -> [RoundRecord] {
            _ = await coordinator.waitUntilDone()
            return await coordinator.history
        }
    }
}

func log(_ line: String) {
    FileHandle.standardError.write(Data("\(line)\n".utf8))
}
