import ArgumentParser
import FedAttnData
import FedAttnFederation
import FedAttnModel
import FedAttnSimulation
import Foundation

extension CoordinatorCommand {
    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a whole federation on this machine: a coordinator and one client per silo file.")

        @Option(name: .long, help: "A folder of silo .csv files, one client each. Default: the built-in synthetic silos.")
        var silos: String?

        @Option(name: .long, help: "Rounds of federated training.") var rounds = 20
        @Option(name: .long, help: "Local epochs per round.") var localEpochs = 1
        @Option(name: .long, help: "Clients' Adam learning rate.") var learningRate: Float = 1e-3
        @Option(name: .long, help: "Examples per local Adam step.") var batchSize = 256
        @Option(name: .long, help: "FedProx strength mu; 0 is plain FedAvg. The default was chosen on validation splits.")
        var proximalMu: Float = 0.005
        @Option(name: .long, help: "The server's step along the averaged delta (1: plain FedAvg).") var serverLearningRate: Float = 1
        @Option(name: .long, help: "Item id mapping, catalogue:N or hash:B. Default: catalogue:1682, or the built-in data's own.")
        var items: String?
        @Option(name: .long, help: "Strategies. Default: 1, or the built-in data's own.") var strategies: Int?
        @Option(name: .long, help: "Seed of the initial model and of the clients' shuffling.") var seed: UInt64 = 0
        @Option(name: .long, help: "Threads each client trains with.") var threads = 1
        @Flag(name: .long, help: "Evaluate on validation splits carved from the train rows (for choosing settings), not on test rows.")
        var validation = false
        @Option(name: .long, help: "How clients reach the coordinator: grpc (loopback, mutual TLS) or in-process.")
        var link = "grpc"
        @Option(name: .long, help: "Write the final global model here (.safetensors).") var out: String?
        @Flag(name: .long, help: "Print one JSON object instead of a table.") var json = false

        func validate() throws {
            guard rounds >= 1, localEpochs >= 1, batchSize >= 1, threads >= 1 else {
                throw ValidationError("--rounds, --local-epochs, --batch-size and --threads must be at least 1")
            }
            guard proximalMu >= 0, learningRate > 0 else { throw ValidationError("--proximal-mu must be >= 0 and --learning-rate > 0") }
            if let items, ItemMapping(items) == nil { throw ValidationError("--items must be catalogue:N or hash:B") }
            guard SimulationLink(rawValue: link) != nil else { throw ValidationError("--link must be grpc or in-process") }
        }

        func run() async throws {
            let builtIn = SyntheticGenerator.Config.demo
            let modelConfig = ModelConfig(
                items: items.flatMap(ItemMapping.init) ?? (silos == nil ? builtIn.itemMapping : .catalogue(items: 1682)),
                strategies: strategies ?? (silos == nil ? builtIn.strategies : 1))
            let builder = ExampleBuilder(historyLength: modelConfig.historyLength)
            let data: [SimulatedSilo]
            if let silos {
                let reader = ClickLogReader(items: modelConfig.items, strategies: modelConfig.strategies)
                data = try SimulatedSilo.load(folder: silos, reader: reader, builder: builder, validation: validation)
            } else {
                data = SimulatedSilo.builtIn(count: 10, builder: builder)
            }
            let plan = LocalTrainingPlan(epochs: localEpochs, batchSize: batchSize, learningRate: learningRate, seed: seed, proximalMu: proximalMu)
            let simulation = Simulation(
                silos: data, modelConfig: modelConfig, config: CoordinatorConfig(rounds: rounds, plan: plan, serverLearningRate: serverLearningRate),
                link: SimulationLink(rawValue: link)!, modelSeed: seed, threads: threads)
            if !json {
                let line = "\(data.count) silos, \(data.reduce(0) { $0 + $1.train.count }) train examples; \(rounds) rounds over \(link)\n"
                FileHandle.standardError.write(Data(line.utf8))
                print(RoundReport.header)
            }
            let quiet = json
            let report = try await simulation.run { round in
                guard !quiet else { return }
                print(round.line)
                fflush(nil)
            }
            if let out { try ModelFile.save(report.finalModel, to: out) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.summary)
                if let out { print("final model written to \(out)") }
            }
        }
    }
}
