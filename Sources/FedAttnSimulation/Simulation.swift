import FedAttnAggregation
import FedAttnCodec
public import FedAttnCore
public import FedAttnData
public import FedAttnFederation
public import FedAttnModel
import Foundation

/// One silo of a simulated federation: its name and its own train and test examples.
public struct SimulatedSilo: Sendable {
    public let name: String
    public let train: ExampleSet
    public let test: ExampleSet

    public init(name: String, train: ExampleSet, test: ExampleSet) {
        self.name = name
        self.train = train
        self.test = test
    }

    /// One silo per `.csv` file of `folder` (sorted by name). With `validation`, the test
    /// side is a validation split carved from the train rows instead, for choosing settings.
    public static func load(folder: String, reader: ClickLogReader, builder: ExampleBuilder, validation: Bool = false) throws -> [SimulatedSilo] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".csv") }.sorted()
        guard !names.isEmpty else { throw DataError.noSiloFiles(folder: folder) }
        return try names.map { name in
            let log = try reader.readFile((folder as NSString).appendingPathComponent(name))
            let silo = (name as NSString).deletingPathExtension
            if validation {
                let (train, held) = builder.buildValidation(log)
                return SimulatedSilo(name: silo, train: train, test: held)
            }
            let (train, test) = builder.build(log)
            return SimulatedSilo(name: silo, train: train, test: test)
        }
    }

    /// The built-in synthetic data split over `count` silos by user.
    public static func builtIn(count: Int, builder: ExampleBuilder) -> [SimulatedSilo] {
        let generator = SyntheticGenerator(config: .demo)
        let parts = SiloSplitter(silos: count, scheme: .iid, seed: 1).split(generator.generate())
        return parts.enumerated().map { i, log in
            let (train, test) = builder.build(log)
            return SimulatedSilo(name: String(format: "silo-%02d", i), train: train, test: test)
        }
    }
}

/// The settings of a simulated federation.
public struct SimulationConfig: Sendable {
    public var rounds: Int
    public var plan: LocalTrainingPlan
    public var modelSeed: UInt64
    /// Threads each client trains with (clients train one after another).
    public var threads: Int

    public init(rounds: Int = 20, plan: LocalTrainingPlan = LocalTrainingPlan(), modelSeed: UInt64 = 0, threads: Int = 1) {
        self.rounds = rounds
        self.plan = plan
        self.modelSeed = modelSeed
        self.threads = threads
    }
}

/// A whole federation in one process: every round each silo trains the global model on its
/// own examples, its delta travels as it would on the wire (changed item rows, float16,
/// zstd) and is decoded by the coordinator side, which averages them (FedAvg weighted by
/// example counts) and evaluates the new model federatedly (histograms, never predictions).
public struct Simulation {
    public let silos: [SimulatedSilo]
    public let config: SimulationConfig
    public let modelConfig: ModelConfig

    public init(silos: [SimulatedSilo], modelConfig: ModelConfig, config: SimulationConfig) {
        self.silos = silos
        self.modelConfig = modelConfig
        self.config = config
    }

    /// Runs every round; `progress` hears each finished round.
    public func run(progress: (RoundReport) -> Void = { _ in }) throws -> SimulationReport {
        var global = try AttentionModel(config: modelConfig, seed: config.modelSeed)
        let layout = global.parameters.layout
        var strategy = FedAvg()
        // A generous cap on what any update may decompress to: the float32 model size.
        let maxBytes = 64 + layout.count * 4 + layout.tensors.count * 64 + modelConfig.items.rowCount * 4
        var rounds: [RoundReport] = []
        for round in 1...config.rounds {
            let clock = ContinuousClock.now
            let download = try TensorPayload.encode(SparseWeights(global.parameters, sparseTensors: []), precision: .float32)
            var accumulator = UpdateAccumulator(layout: layout)
            var uploaded = 0, slowest = 0.0
            for (i, silo) in silos.enumerated() {
                // Client side: decode the model it was sent, train, encode its delta.
                let received = try TensorPayload.decode(download, expecting: layout, maxBytes: maxBytes).densified()
                let start = try AttentionModel(config: modelConfig, parameters: received)
                var plan = config.plan
                plan.seed = config.plan.seed &+ UInt64(round * 1_000 + i)
                let result = LocalRound.train(global: start, on: silo.train, plan: plan, threads: config.threads)
                let upload = try TensorPayload.encode(result.delta, precision: .float16)
                uploaded += upload.count
                slowest = max(slowest, result.seconds)
                // Coordinator side: decode and fold in.
                let delta = try TensorPayload.decode(upload, expecting: layout, maxBytes: maxBytes)
                accumulator.add(ClientUpdate(client: silo.name, exampleCount: result.examples, delta: delta))
            }
            global.parameters = strategy.aggregate(accumulator, global: global.parameters)!
            var summary = EvaluationSummary()
            for silo in silos { summary.merge(LocalRound.evaluate(global, on: silo.test, threads: config.threads)) }
            let report = RoundReport(
                round: round, clients: silos.count, testAUC: summary.auc, testLogLoss: summary.logLoss,
                bytesUpPerClient: uploaded / silos.count, bytesDownPerClient: download.count,
                seconds: (ContinuousClock.now - clock).seconds, trainSecondsMax: slowest)
            rounds.append(report)
            progress(report)
        }
        return SimulationReport(rounds: rounds, modelBytesFloat32: layout.count * 4, link: "in-process")
    }
}
