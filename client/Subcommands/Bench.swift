import ArgumentParser
import FedAttnCore
import FedAttnData
import FedAttnModel
import Foundation

extension ClientCommand {
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure training throughput (examples per second, each sampled negative counted as one) and peak memory.",
            discussion: """
                Runs warm-up epochs, then timed epochs, and reports the median epoch's throughput. \
                With several thread counts (--threads 1,2) the counts take turns epoch by epoch, so \
                that a noisy machine slows them alike, and the speed-up is the median of the \
                per-round ratios to the first count.
                """)

        @OptionGroup var dataOptions: DataOptions
        @OptionGroup var modelOptions: ModelOptions
        @OptionGroup(title: "Training to rank") var negatives: NegativeOptions

        @Option(name: .long, help: "Worker threads, or a comma-separated list of counts to compare.")
        var threads = "1"

        @Option(name: .long, help: "Timed epochs per thread count; the median is reported.")
        var epochs = 5

        @Option(name: .long, help: "Untimed epochs first, per thread count.")
        var warmup = 1

        @Option(name: .long, help: "Labelled rows per Adam step (each with its sampled negatives).")
        var batchSize = 256

        @Option(
            name: .long,
            help:
                "Also train models with this item mapping (e.g. hash:4000000) on the same data, turn by turn with --items', and report each one's speed against theirs."
        )
        var compareItems: String?

        @Flag(name: .long, help: "Print one JSON object instead of a table.")
        var json = false

        var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0) } }

        func validate() throws {
            let counts = threadCounts
            guard !counts.isEmpty, counts.count == threads.split(separator: ",").count, counts.allSatisfy({ $0 >= 1 }) else {
                throw ValidationError("--threads must be a count of at least 1, or a comma-separated list of them")
            }
            guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
            guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
            if let compareItems, ItemMapping(compareItems) == nil {
                throw ValidationError("--compare-items '\(compareItems)' must be catalogue:N or hash:B, with N or B at least 1")
            }
        }

        func run() async throws {
            let progress = Progress(enabled: !json)
            let first = try modelOptions.config(usingBuiltInData: dataOptions.data == nil)
            var configs = [first]
            if let compareItems, let mapping = ItemMapping(compareItems) {
                var other = first
                other.items = mapping
                try other.validate()
                configs.append(other)
            }
            let counts = threadCounts
            // Every (mapping, thread count) pair, mapping by mapping; each trainer has a model
            // of its own, trained in place (no shared copy is kept).
            var runs: [(config: ModelConfig, threads: Int, train: ExampleSet, trainer: LocalTrainer)] = []
            for config in configs {
                let (_, train, _, _) = try dataOptions.loadExamples(config: config)
                for count in counts {
                    let trainer = LocalTrainer(
                        model: try AttentionModel(config: config, seed: 0),
                        config: TrainingConfig(batchSize: batchSize, threads: count, negatives: negatives.sampling))
                    runs.append((config, count, train, trainer))
                }
            }
            for epoch in 0..<warmup {
                for run in runs { run.trainer.trainEpoch(on: run.train) }
                progress.line("warm-up epoch \(epoch + 1)/\(warmup) done")
            }
            var rates = [[Double]](repeating: [], count: runs.count)
            for epoch in 0..<epochs {
                for (k, run) in runs.enumerated() {
                    let report = run.trainer.trainEpoch(on: run.train)
                    rates[k].append(Double(report.examples) / report.seconds)
                }
                let line = zip(runs, rates).map { String(format: "%@ %d thread(s) %.0f", "\($0.config.items)", $0.threads, $1.last!) }
                progress.line("epoch \(epoch + 1)/\(epochs): \(line.joined(separator: ", ")) examples/s")
            }
            let peak = ResourceUsage.peakResidentBytes() ?? 0
            let results = runs.indices.map { k in
                let run = runs[k]
                // The same mapping's first thread count, and the first mapping's same thread count.
                let sameMapping = k - k % counts.count, sameThreads = k % counts.count
                return BenchResult(
                    examplesPerSecond: median(rates[k]), threads: run.threads, items: "\(run.config.items)", peakRSSBytes: peak,
                    trainExamples: run.train.count, epochRates: rates[k], parameters: run.trainer.model.parameterCount,
                    speedup: k == sameMapping ? nil : median(zip(rates[k], rates[sameMapping]).map { $0 / $1 }),
                    versusFirstItems: k < counts.count ? nil : median(zip(rates[k], rates[sameThreads]).map { $0 / $1 }),
                    negatives: negatives.negatives)
            }
            if json {
                print(try results.count == 1 ? encodeJSON(results[0]) : encodeJSON(BenchComparison(results: results)))
            } else {
                print(results.map { $0.table() }.joined(separator: "\n\n"))
            }
        }
    }
}

/// The middle value (the mean of the two middle values for an even count).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let n = sorted.count
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
}

struct BenchResult: Encodable {
    let examplesPerSecond: Double
    let threads: Int
    /// The item mapping, as `--items` spells it.
    let items: String
    /// Peak resident memory of the whole process (every model it trained), in bytes.
    let peakRSSBytes: Int
    let trainExamples: Int
    let epochRates: [Double]
    let parameters: Int
    /// Median over rounds of this count's rate over the first count's, when comparing.
    let speedup: Double?
    /// Median over rounds of this rate over the first mapping's at the same thread count.
    let versusFirstItems: Double?
    /// Sampled negatives per clicked row (each counted as an example).
    let negatives: Int

    enum CodingKeys: String, CodingKey {
        case examplesPerSecond = "examples_per_second", threads, peakRSSBytes = "peak_rss_bytes"
        case trainExamples = "train_examples", epochRates = "epoch_examples_per_second", parameters
        case speedup = "speedup_vs_first", items, versusFirstItems = "ratio_vs_first_items", negatives
    }

    func table() -> String {
        var rows: [(String, String)] = [
            ("items", items),
            ("threads", "\(threads)"),
            ("examples/s (median epoch)", String(format: "%.0f", examplesPerSecond)),
            ("negatives per click", "\(negatives)"),
        ]
        if let speedup { rows.append(("speed-up (median paired)", String(format: "%.2fx", speedup))) }
        if let versusFirstItems { rows.append(("vs the first mapping (paired)", String(format: "%.2fx", versusFirstItems))) }
        rows += [
            ("peak memory", String(format: "%.1f MB", Double(peakRSSBytes) / 1e6)),
            ("train examples", "\(trainExamples)"),
            ("parameters", "\(parameters)"),
            ("epochs timed", epochRates.map { String(format: "%.0f", $0) }.joined(separator: " ")),
        ]
        return Table(rows: rows).render()
    }
}

/// Several thread counts (or item mappings) measured turn by turn.
struct BenchComparison: Encodable {
    let results: [BenchResult]
}
