import ArgumentParser
import FedAttnFederation
import FedAttnModel
import Foundation

/// The settings of a served federation, from flags over a JSON config file over defaults.
/// The file uses the flags' names in snake case, e.g.
///     {"rounds": 20, "min_clients": 10, "quorum": 8, "round_timeout": 300, "items": "catalogue:1682"}
struct FederationSettings: ParsableArguments {
    @Option(name: .long, help: "A JSON file with any of these settings (snake_case keys); flags override it.")
    var config: String?
    @Option(name: .long, help: "Rounds to run (default 20).") var rounds: Int?
    @Option(name: .long, help: "Clients to wait for before the first round (default 1).") var minClients: Int?
    @Option(name: .long, help: "Clients per round; 0 takes every joined client (default 0).") var clientsPerRound: Int?
    @Option(name: .long, help: "The fewest updates a round may close with at its timeout (default 1).") var quorum: Int?
    @Option(name: .long, help: "Seconds a round waits for updates (default 300).") var roundTimeout: Int?
    @Option(name: .long, help: "Local epochs per round (default 1).") var localEpochs: Int?
    @Option(name: .long, help: "Clients' Adam learning rate (default 0.001).") var learningRate: Float?
    @Option(name: .long, help: "Examples per local step (default 256).") var batchSize: Int?
    @Option(name: .long, help: "FedProx strength mu; 0 is plain FedAvg (default 0.005).") var proximalMu: Float?
    @Option(name: .long, help: "The server's step along the averaged delta; 1 is plain FedAvg (default 1).") var serverLearningRate: Float?
    @Option(
        name: .long, help: "Item id mapping every silo uses: catalogue:N or hash:B (default catalogue:1682; simulate's built-in silos: their own).")
    var items: String?
    @Option(name: .long, help: "Strategies (default 1; simulate's built-in silos: their own).") var strategies: Int?
    @Option(name: .long, help: "Seed of the initial model (default 0).") var seed: UInt64?
    @Option(name: .long, help: "The largest L2 norm an update may have (default 1000).") var maxUpdateNorm: Double?
    @Option(name: .long, help: "The largest update payload in bytes (default 256 MiB).") var maxUpdateBytes: Int?
    @Option(name: .long, help: "Seconds one upload may take to arrive whole (default 120).") var uploadTimeout: Int?
    @Option(name: .long, help: "The most training examples a client may declare, and so weigh in the average (default 100000000).")
    var maxTrainExamples: Int?

    /// The same settings as a file holds them.
    struct File: Decodable {
        var rounds: Int?, minClients: Int?, clientsPerRound: Int?, quorum: Int?, roundTimeout: Int?, localEpochs: Int?
        var learningRate: Float?, batchSize: Int?, proximalMu: Float?, serverLearningRate: Float?, items: String?, strategies: Int?
        var seed: UInt64?, maxUpdateNorm: Double?, maxUpdateBytes: Int?, uploadTimeout: Int?, maxTrainExamples: Int?
    }

    /// The resolved model and coordinator configuration; errors name the file or flag.
    /// `defaultModel` gives the items and strategies when neither flag nor file does.
    func resolve(defaultModel: ModelConfig = ModelConfig(items: .catalogue(items: 1682))) throws -> (
        model: ModelConfig, coordinator: CoordinatorConfig
    ) {
        var file = File()
        if let config {
            guard let data = FileManager.default.contents(atPath: config) else { throw ValidationError("\(config): cannot read the config file") }
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            do { file = try decoder.decode(File.self, from: data) } catch { throw ValidationError("\(config): not a valid config file: \(error)") }
        }
        let itemsText = items ?? file.items ?? defaultModel.items.description
        guard let mapping = ItemMapping(itemsText) else { throw ValidationError("items '\(itemsText)' must be catalogue:N or hash:B") }
        let model = ModelConfig(items: mapping, strategies: strategies ?? file.strategies ?? defaultModel.strategies)
        let plan = LocalTrainingPlan(
            epochs: localEpochs ?? file.localEpochs ?? 1, batchSize: batchSize ?? file.batchSize ?? 256,
            learningRate: learningRate ?? file.learningRate ?? 1e-3, seed: seed ?? file.seed ?? 0,
            proximalMu: proximalMu ?? file.proximalMu ?? 0.005)
        let coordinator = CoordinatorConfig(
            rounds: rounds ?? file.rounds ?? 20, minClients: minClients ?? file.minClients ?? 1,
            clientsPerRound: clientsPerRound ?? file.clientsPerRound ?? 0, quorum: quorum ?? file.quorum ?? 1,
            roundTimeout: .seconds(roundTimeout ?? file.roundTimeout ?? 300), plan: plan,
            maxUpdateBytes: maxUpdateBytes ?? file.maxUpdateBytes ?? 256 << 20,
            serverLearningRate: serverLearningRate ?? file.serverLearningRate ?? 1, maxUpdateNorm: maxUpdateNorm ?? file.maxUpdateNorm ?? 1_000,
            uploadTimeout: .seconds(uploadTimeout ?? file.uploadTimeout ?? 120),
            maxTrainExamples: maxTrainExamples ?? file.maxTrainExamples ?? 100_000_000)
        guard coordinator.rounds >= 1, coordinator.minClients >= 1, coordinator.quorum >= 1, plan.epochs >= 1, plan.batchSize >= 1,
            plan.learningRate > 0, plan.proximalMu >= 0, model.strategies >= 1, coordinator.clientsPerRound >= 0,
            coordinator.roundTimeout > .zero, coordinator.uploadTimeout > .zero, coordinator.serverLearningRate > 0
        else {
            throw ValidationError(
                "rounds, min clients, quorum, local epochs, batch size, strategies, round and upload timeouts must be at least 1; learning rates above 0"
            )
        }
        return (model, coordinator)
    }
}
