import ArgumentParser
import FedAttnCore
import FedAttnData
import FedAttnModel

/// Where the data comes from and how its ids are read; shared by every subcommand that reads a log.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "A silo file (CSV or MovieLens u.data) or a folder of .csv silo files, pooled. Default: the built-in synthetic silos.")
    var data: String?

    @Flag(name: .long, help: "Skip malformed rows and report how many, instead of stopping at the first.")
    var skipMalformed = false

    /// Reads the log at `--data` with the model's item mapping, or generates the built-in data.
    func loadLog(config: ModelConfig) throws -> ClickLog {
        guard let data else { return SyntheticGenerator(config: .demo).generate() }
        let reader = ClickLogReader(items: config.items, strategies: config.strategies, skipMalformed: skipMalformed)
        return try reader.read(path: data)
    }

    /// What the log was (its rows are let go once the examples are made) and its train and
    /// test examples. Stops with a clear error when there is nothing to train on (or, for
    /// evaluation, nothing to test on).
    func loadExamples(config: ModelConfig, needing part: ExamplePart = .train) throws -> (
        log: ClickLog.Summary, train: ExampleSet, test: ExampleSet, duplicateRows: Int
    ) {
        let log = try loadLog(config: config)
        let summary = log.summary
        let (train, test, duplicates) = ExampleBuilder(historyLength: config.historyLength).buildCountingDuplicates(consume log)
        if part == .train && train.isEmpty {
            throw DataError.noTrainingExamples(path: dataName, rows: summary.rows, users: summary.users)
        }
        if part == .test && test.isEmpty { throw DataError.emptySilo(path: dataName) }
        return (summary, train, test, duplicates)
    }

    enum ExamplePart { case train, test }

    /// Train, validation (each train row held out with probability `validationFraction`;
    /// none at 0) and test examples, and with `ranking` the leave-one-out ranking cases.
    /// At 0 and without ranking, the same lean path as `loadExamples`.
    func loadSplits(config: ModelConfig, validationFraction: Double, ranking: Bool, needing part: ExamplePart = .train) throws -> (
        log: ClickLog.Summary, train: ExampleSet, validation: ExampleSet, test: ExampleSet, ranking: RankingSet, duplicateRows: Int
    ) {
        guard validationFraction > 0 || ranking else {
            let (log, train, test, duplicates) = try loadExamples(config: config, needing: part)
            return (log, train, ExampleSet(), test, RankingSet(), duplicates)
        }
        let log = try loadLog(config: config)
        let builder = ExampleBuilder(historyLength: config.historyLength)
        let (train, validation, test, duplicates) = builder.buildWithValidation(log, fraction: validationFraction)
        if part == .train && train.isEmpty { throw DataError.noTrainingExamples(path: dataName, rows: log.count, users: log.userIDs.count) }
        if part == .test && test.isEmpty { throw DataError.emptySilo(path: dataName) }
        return (log.summary, train, validation, test, ranking ? builder.rankingSet(log) : RankingSet(), duplicates)
    }

    /// A short name for the data in reports.
    var dataName: String { data ?? "built-in synthetic silos" }
}

/// The shape of a new model; silos that federate must pass the same values.
struct ModelOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Item id mapping: catalogue:N (ids 1...N) or hash:B (feature hashing into B rows). Default: catalogue:1682 (MovieLens), or the built-in data's own."
    )
    var items: String?

    @Option(name: .long, help: "The number of recommendation strategies (ids 0..<N). Default: 1, or the built-in data's own.")
    var strategies: Int?

    @Option(name: .long, help: "Embedding dimension, a multiple of 8.")
    var dim = 32

    @Option(name: .long, help: "The most clicked items a history holds.")
    var historyLength = 20

    /// The parsed `--items`, if given.
    func itemMapping() throws -> ItemMapping? {
        guard let items else { return nil }
        guard let mapping = ItemMapping(items) else {
            throw ValidationError("--items '\(items)' must be catalogue:N or hash:B, with N or B at least 1")
        }
        return mapping
    }

    /// The configuration these options describe; built-in data brings its own defaults.
    func config(usingBuiltInData: Bool) throws -> ModelConfig {
        let builtIn = SyntheticGenerator.Config.demo
        let config = ModelConfig(
            dim: dim, historyLength: historyLength,
            items: try itemMapping() ?? (usingBuiltInData ? builtIn.itemMapping : .catalogue(items: 1682)),
            strategies: strategies ?? (usingBuiltInData ? builtIn.strategies : 1))
        try config.validate()
        return config
    }
}
