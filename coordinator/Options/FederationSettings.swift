import ArgumentParser
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import Foundation

/// The settings of a served federation, from flags over a JSON config file over defaults.
/// The file uses the flags' names in snake case, e.g.
///     {"rounds": 20, "min_clients": 10, "quorum": 8, "round_timeout": 300, "items": "catalogue:1682"}
struct FederationSettings: ParsableArguments {
    /// The defaults, as the library writes them.
    private static let D = CoordinatorConfig()

    @Option(name: .long, help: "A JSON file with any of these settings (snake_case keys); flags override it.")
    var config: String?
    @Option(name: .long, help: "Rounds to run (default \(FederationSettings.D.rounds)).") var rounds: Int?
    @Option(name: .long, help: "Clients to wait for before the first round (default \(FederationSettings.D.minClients)).") var minClients: Int?
    @Option(name: .long, help: "Clients per round; 0 takes every joined client (default \(FederationSettings.D.clientsPerRound)).")
    var clientsPerRound: Int?
    @Option(name: .long, help: "The fewest updates a round may close with at its timeout (default \(FederationSettings.D.quorum)).") var quorum: Int?
    @Option(name: .long, help: "Seconds a round waits for updates (default \(FederationSettings.D.roundTimeout.components.seconds)).")
    var roundTimeout: Int?
    @Option(name: .long, help: "Local epochs per round (default \(FederationSettings.D.plan.epochs)).") var localEpochs: Int?
    @Option(name: .long, help: "Clients' Adam learning rate (default \(FederationSettings.D.plan.learningRate)).") var learningRate: Float?
    @Option(name: .long, help: "Examples per local step (default \(FederationSettings.D.plan.batchSize)).") var batchSize: Int?
    @Option(name: .long, help: "FedProx strength mu; 0 is plain FedAvg (default \(FederationSettings.D.plan.proximalMu)).") var proximalMu: Float?
    @Option(name: .long, help: "The server's step along the averaged delta; 1 is plain FedAvg (default \(FederationSettings.D.serverLearningRate)).")
    var serverLearningRate: Float?
    @Option(
        name: .long,
        help: "Item id mapping every silo uses: catalogue:N or hash:B (default \(ModelConfig().items); simulate's built-in silos: their own).")
    var items: String?
    @Option(name: .long, help: "Strategies (default \(ModelConfig().strategies); simulate's built-in silos: their own).") var strategies: Int?
    @Option(name: .long, help: "Seed of the initial model (default \(FederationSettings.D.plan.seed)).") var seed: UInt64?
    @Option(name: .long, help: "The largest L2 norm an update may have (default \(Int(D.maxUpdateNorm))).") var maxUpdateNorm: Double?
    @Option(name: .long, help: "The largest update payload in bytes (default \(FederationSettings.D.maxUpdateBytes)).") var maxUpdateBytes: Int?
    @Option(name: .long, help: "Seconds one upload may take to arrive whole (default \(FederationSettings.D.uploadTimeout.components.seconds)).")
    var uploadTimeout: Int?
    @Option(
        name: .long,
        help: "The most training examples a client may declare, and so weigh in the average (default \(FederationSettings.D.maxTrainExamples)).")
    var maxTrainExamples: Int?

    /// The same settings as a file holds them.
    struct File: Decodable {
        var rounds: Int?, minClients: Int?, clientsPerRound: Int?, quorum: Int?, roundTimeout: Int?, localEpochs: Int?
        var learningRate: Float?, batchSize: Int?, proximalMu: Float?, serverLearningRate: Float?, items: String?, strategies: Int?
        var seed: UInt64?, maxUpdateNorm: Double?, maxUpdateBytes: Int?, uploadTimeout: Int?, maxTrainExamples: Int?
    }

    /// The resolved model and coordinator configuration; errors name the file or flag.
    /// `defaultModel` gives the items and strategies when neither flag nor file does.
    func resolve(defaultModel: ModelConfig = ModelConfig()) throws -> (
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
        // Every default is CoordinatorConfig's and LocalTrainingPlan's own, written once there.
        let d = Self.D
        let plan = LocalTrainingPlan(
            epochs: localEpochs ?? file.localEpochs ?? d.plan.epochs, batchSize: batchSize ?? file.batchSize ?? d.plan.batchSize,
            learningRate: learningRate ?? file.learningRate ?? d.plan.learningRate, seed: seed ?? file.seed ?? d.plan.seed,
            proximalMu: proximalMu ?? file.proximalMu ?? d.plan.proximalMu)
        let coordinator = CoordinatorConfig(
            rounds: rounds ?? file.rounds ?? d.rounds, minClients: minClients ?? file.minClients ?? d.minClients,
            clientsPerRound: clientsPerRound ?? file.clientsPerRound ?? d.clientsPerRound, quorum: quorum ?? file.quorum ?? d.quorum,
            roundTimeout: (roundTimeout ?? file.roundTimeout).map { .seconds($0) } ?? d.roundTimeout, plan: plan,
            maxUpdateBytes: maxUpdateBytes ?? file.maxUpdateBytes ?? d.maxUpdateBytes,
            serverLearningRate: serverLearningRate ?? file.serverLearningRate ?? d.serverLearningRate,
            maxUpdateNorm: maxUpdateNorm ?? file.maxUpdateNorm ?? d.maxUpdateNorm,
            uploadTimeout: (uploadTimeout ?? file.uploadTimeout).map { .seconds($0) } ?? d.uploadTimeout,
            maxTrainExamples: maxTrainExamples ?? file.maxTrainExamples ?? d.maxTrainExamples)
        // Each setting by the flag (and config key) that sets it, so the message names it.
        let checks: [(ok: Bool, message: String)] = [
            (coordinator.rounds >= 1, "--rounds (rounds) must be at least 1"),
            (coordinator.minClients >= 1, "--min-clients (min_clients) must be at least 1"),
            (coordinator.clientsPerRound >= 0, "--clients-per-round (clients_per_round) must be 0 (every client) or more"),
            (coordinator.quorum >= 1, "--quorum (quorum) must be at least 1"),
            (
                coordinator.quorum <= coordinator.minClients,
                "--quorum (quorum) \(coordinator.quorum) is more than --min-clients \(coordinator.minClients): a round could wait for more updates than there are clients"
            ),
            (
                coordinator.clientsPerRound == 0 || coordinator.quorum <= coordinator.clientsPerRound,
                "--quorum (quorum) \(coordinator.quorum) is more than --clients-per-round \(coordinator.clientsPerRound): no round could ever close"
            ),
            (coordinator.roundTimeout > .zero, "--round-timeout (round_timeout) must be at least 1 second"),
            (plan.epochs >= 1, "--local-epochs (local_epochs) must be at least 1"),
            (plan.batchSize >= 1, "--batch-size (batch_size) must be at least 1"),
            (plan.learningRate > 0 && plan.learningRate.isFinite, "--learning-rate (learning_rate) must be a positive number"),
            (plan.proximalMu >= 0 && plan.proximalMu.isFinite, "--proximal-mu (proximal_mu) must be 0 or a positive number"),
            (
                coordinator.serverLearningRate > 0 && coordinator.serverLearningRate.isFinite,
                "--server-learning-rate (server_learning_rate) must be a positive number"
            ),
            (model.strategies >= 1, "--strategies (strategies) must be at least 1"),
            (coordinator.maxUpdateNorm > 0, "--max-update-norm (max_update_norm) must be above 0"),
            (coordinator.maxUpdateBytes >= 1, "--max-update-bytes (max_update_bytes) must be at least 1"),
            (coordinator.uploadTimeout > .zero, "--upload-timeout (upload_timeout) must be at least 1 second"),
            (coordinator.maxTrainExamples >= 1, "--max-train-examples (max_train_examples) must be at least 1"),
        ]
        if let failed = checks.first(where: { !$0.ok }) { throw ValidationError(failed.message + (config.map { " (flags or \($0))" } ?? "")) }
        return (model, coordinator)
    }
}
