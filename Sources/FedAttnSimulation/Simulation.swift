import FedAttnCore
public import FedAttnData
public import FedAttnFederation
public import FedAttnModel
import FedAttnTransport
import Foundation

/// One silo of a simulated federation: its name and its own train, validation and test
/// examples and ranking cases.
public struct SimulatedSilo: Sendable {
    public let name: String
    public let train: ExampleSet
    public let validation: ExampleSet
    public let test: ExampleSet
    public let ranking: RankingSet
    /// The validation split's ranking cases (model selection by ranking).
    public let validationRanking: RankingSet

    public init(
        name: String, train: ExampleSet, validation: ExampleSet = ExampleSet(), test: ExampleSet, ranking: RankingSet = RankingSet(),
        validationRanking: RankingSet = RankingSet()
    ) {
        self.validationRanking = validationRanking
        self.name = name
        self.train = train
        self.validation = validation
        self.test = test
        self.ranking = ranking
    }

    /// A silo from its log: `validationFraction` of each user's train rows held out as its
    /// validation split (0: none), and its ranking cases.
    public init(name: String, log: ClickLog, builder: ExampleBuilder, validationFraction: Double) {
        let train: ExampleSet, validation: ExampleSet, test: ExampleSet
        if validationFraction > 0 {
            (train, validation, test, _) = builder.buildWithValidation(log, fraction: validationFraction)
        } else {
            (train, test) = builder.build(log)
            validation = ExampleSet()
        }
        self.init(
            name: name, train: train, validation: validation, test: test, ranking: builder.rankingSet(log),
            validationRanking: validationFraction > 0 ? builder.validationRankingSet(log, fraction: validationFraction) : RankingSet())
    }

    /// The most-popular-items baseline of a federation of `silos`: the items' train-row
    /// counts summed over the silos, each silo's users ranked with the same negatives as the
    /// model (seed 0), the sums pooled as the coordinator pools the model's.
    public static func popularity(of silos: [SimulatedSilo], model: ModelConfig) -> RankingSums {
        var counts = Popularity(rows: model.items.rowCount)
        for silo in silos { counts.merge(Popularity(rows: model.items.rowCount, train: silo.train)) }
        var sums = RankingSums()
        for silo in silos { sums.merge(counts.rank(silo.ranking, catalogue: silo.ranking.catalogue(for: model.items))) }
        return sums
    }

    /// One silo per `.csv` file of `folder` (sorted by name).
    public static func load(folder: String, reader: ClickLogReader, builder: ExampleBuilder, validationFraction: Double = 0.1) throws
        -> [SimulatedSilo]
    {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".csv") }.sorted()
        guard !names.isEmpty else { throw DataError.noSiloFiles(folder: folder) }
        return try names.map { name in
            let path = (folder as NSString).appendingPathComponent(name)
            let log = try reader.readFile(path)
            let silo = SimulatedSilo(
                name: (name as NSString).deletingPathExtension, log: log, builder: builder, validationFraction: validationFraction)
            // Refused up front, naming the file: such a silo could never send an update.
            guard !silo.train.isEmpty else { throw DataError.noTrainingExamples(path: path, rows: log.count, users: log.userIDs.count) }
            return silo
        }
    }

    /// The built-in synthetic data split over `count` silos by user.
    public static func builtIn(count: Int, builder: ExampleBuilder, validationFraction: Double = 0.1) -> [SimulatedSilo] {
        let generator = SyntheticGenerator(config: .demo)
        let parts = SiloSplitter(silos: count, scheme: .iid, seed: 1).split(generator.generate())
        return parts.enumerated().map { i, log in
            SimulatedSilo(name: String(format: "silo-%02d", i), log: log, builder: builder, validationFraction: validationFraction)
        }
    }
}

/// How the simulated clients reach the coordinator.
public enum SimulationLink: String, Sendable, CaseIterable {
    /// Real gRPC over 127.0.0.1 with mutual TLS and throw-away certificates.
    case grpc
    /// Direct calls to the coordinator: no sockets, for quick experiments.
    case inProcess = "in-process"
}

/// A whole federation on one machine: a coordinator and one participant per silo, with
/// exactly the code that runs on a server and in each silo.
public struct Simulation: Sendable {
    public let silos: [SimulatedSilo]
    public let modelConfig: ModelConfig
    public let config: CoordinatorConfig
    public let link: SimulationLink
    public let modelSeed: UInt64
    public let threads: Int
    /// The last `hostile.count` silos attack with `hostile.attack` (none by default).
    public let hostile: (count: Int, attack: Attack)
    /// With secure aggregation, in process: the first `dropouts.count` silos leave round
    /// `dropouts.round` after sending their masked values, and join again after it.
    public let dropouts: (count: Int, round: Int)

    public init(
        silos: [SimulatedSilo], modelConfig: ModelConfig, config: CoordinatorConfig, link: SimulationLink = .grpc, modelSeed: UInt64 = 0,
        threads: Int = 1, hostile: (count: Int, attack: Attack) = (0, .signFlip), dropouts: (count: Int, round: Int) = (0, 0)
    ) {
        self.hostile = hostile
        self.dropouts = dropouts
        self.silos = silos
        self.modelConfig = modelConfig
        self.config = config
        self.link = link
        self.modelSeed = modelSeed
        self.threads = threads
    }

    /// Runs every round; `progress` hears each round as it is recorded. The report carries
    /// the final global model.
    public func run(progress: @escaping @Sendable (RoundReport) -> Void = { _ in }) async throws -> SimulationReport {
        if let empty = silos.first(where: { $0.train.isEmpty }) { throw SimulationError.noTrainingExamples(silo: empty.name) }
        for silo in silos {
            if let problem = SiloName.problem(with: silo.name) { throw SimulationError.notASiloName(silo: silo.name, problem: problem) }
        }
        var config = config
        config.minClients = silos.count
        let coordinator = try Coordinator(
            modelConfig: modelConfig, config: config, initialModel: try AttentionModel(config: modelConfig, seed: modelSeed))
        let works = silos.map { silo in
            SiloWork(
                train: silo.train, validation: silo.validation, test: silo.test, ranking: silo.ranking, validationRanking: silo.validationRanking,
                threads: threads)
        }
        let honestCount = silos.count - hostile.count
        let clients = works.enumerated().map { index, work in
            guard index >= honestCount else { return Participant(work: work) }
            return Participant(work: HostileWork(inner: work, attack: hostile.attack, seed: UInt64(index)))
        }
        let names = silos.map(\.name)
        let modelConfig = modelConfig
        let monitor = Task {
            var shown = 0
            while !Task.isCancelled {
                let history = await coordinator.history(beyond: shown)
                for record in history.dropFirst(shown) { progress(RoundReport(record, clients: record.participants.count)) }
                shown = history.count
                if await coordinator.isDone { return }
            }
        }
        defer { monitor.cancel() }
        switch link {
        case .inProcess:
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, (name, client)) in zip(names, clients).enumerated() {
                    let inProcess = InProcessLink(coordinator: coordinator, client: name)
                    let link: any FederationLink = index < dropouts.count ? DroppingOutLink(inner: inProcess, round: dropouts.round) : inProcess
                    group.addTask { try await client.run(link: link, expectedModel: modelConfig) }
                }
                try await group.waitForAll()
            }
        case .grpc:
            let authority = try DevCertificateAuthority()
            let identities = try names.map { try authority.clientIdentity(name: $0) }
            try await withCoordinatorServer(coordinator, host: "127.0.0.1", port: 0, security: .mutualTLS(try authority.serverIdentity())) { port in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (identity, client) in zip(identities, clients) {
                        group.addTask {
                            try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) { link in
                                try await client.run(link: link, expectedModel: modelConfig)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
        _ = await monitor.value
        let history = await coordinator.history
        let layout = AttentionModel.layout(for: modelConfig)
        let kept = await coordinator.keptModel
        var report = SimulationReport(
            rounds: history.map { RoundReport($0, clients: $0.participants.count) }, modelBytesFloat32: layout.count * 4, link: link.rawValue,
            strategy: coordinator.strategyName, finalModel: await coordinator.currentModel, records: history,
            selectBy: config.selectBy, keptModel: kept)
        if hostile.count > 0, let kept {
            report.keptOnHonestSilos = Self.evaluate(kept, on: works.prefix(honestCount))
        }
        return report
    }

    /// `model` evaluated on `works` in process, their reports pooled as the coordinator would
    /// pool honest ones.
    static func evaluate(_ model: AttentionModel, on works: some Sequence<SiloWork>) -> EvaluationReport {
        var pooled = EvaluationReport()
        for work in works {
            let (test, ranking, threads) = (work.test, work.ranking, work.threads)
            pooled.merge(
                EvaluationReport(test: LocalRound.evaluate(model, on: test, threads: threads), ranking: model.rank(ranking, threads: threads)))
        }
        return pooled
    }
}

/// Why a simulation could not start.
public enum SimulationError: Error, CustomStringConvertible, Equatable {
    case noTrainingExamples(silo: String)
    /// A silo (named after its file) whose name a coordinator would refuse.
    case notASiloName(silo: String, problem: String)

    public var description: String {
        switch self {
        case .noTrainingExamples(let silo): "silo '\(silo)' has no training examples: it could never send an update; leave it out"
        case .notASiloName(let silo, let problem): "silo \(SiloName.quoted(silo)) (its file's name) is not a silo name: \(problem); rename the file"
        }
    }
}
