import ArgumentParser
import FedAttnCore
import FedAttnData
import FedAttnModel
import Foundation

extension ClientCommand {
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure training throughput (examples per second) and peak memory.",
            discussion: """
                Runs warm-up epochs, then timed epochs, and reports the median epoch's throughput. \
                With several thread counts (--threads 1,2) the counts take turns epoch by epoch, so \
                that a noisy machine slows them alike, and the speed-up is the median of the \
                per-round ratios to the first count.
                """)

        @OptionGroup var dataOptions: DataOptions
        @OptionGroup var modelOptions: ModelOptions

        @Option(name: .long, help: "Worker threads, or a comma-separated list of counts to compare.")
        var threads = "1"

        @Option(name: .long, help: "Timed epochs per thread count; the median is reported.")
        var epochs = 5

        @Option(name: .long, help: "Untimed epochs first, per thread count.")
        var warmup = 1

        @Option(name: .long, help: "Examples per Adam step.")
        var batchSize = 256

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
        }

        func run() async throws {
            let progress = Progress(enabled: !json)
            let config = try modelOptions.config(usingBuiltInData: dataOptions.data == nil)
            let (_, train, _) = try dataOptions.loadExamples(config: config)
            let model = try AttentionModel(config: config, seed: 0)
            let counts = threadCounts
            let trainers = counts.map { LocalTrainer(model: model, config: TrainingConfig(batchSize: batchSize, threads: $0)) }
            for epoch in 0..<warmup {
                for trainer in trainers { trainer.trainEpoch(on: train) }
                progress.line("warm-up epoch \(epoch + 1)/\(warmup) done")
            }
            var rates = [[Double]](repeating: [], count: counts.count)
            for epoch in 0..<epochs {
                for (k, trainer) in trainers.enumerated() {
                    let report = trainer.trainEpoch(on: train)
                    rates[k].append(Double(report.examples) / report.seconds)
                }
                let line = zip(counts, rates).map { String(format: "%d thread(s) %.0f", $0, $1.last!) }.joined(separator: ", ")
                progress.line("epoch \(epoch + 1)/\(epochs): \(line) examples/s")
            }
            let peak = ResourceUsage.peakResidentBytes() ?? 0
            let results = counts.indices.map { k in
                BenchResult(
                    examplesPerSecond: median(rates[k]), threads: counts[k], peakRSSBytes: peak, trainExamples: train.count,
                    epochRates: rates[k], parameters: model.parameterCount,
                    speedup: k == 0 ? nil : median(zip(rates[k], rates[0]).map { $0 / $1 }))
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
    let peakRSSBytes: Int
    let trainExamples: Int
    let epochRates: [Double]
    let parameters: Int
    /// Median over rounds of this count's rate over the first count's, when comparing.
    let speedup: Double?

    enum CodingKeys: String, CodingKey {
        case examplesPerSecond = "examples_per_second", threads, peakRSSBytes = "peak_rss_bytes"
        case trainExamples = "train_examples", epochRates = "epoch_examples_per_second", parameters
        case speedup = "speedup_vs_first"
    }

    func table() -> String {
        Table(
            rows: [
                ("threads", "\(threads)"),
                ("examples/s (median epoch)", String(format: "%.0f", examplesPerSecond)),
            ] + (speedup.map { [("speed-up (median paired)", String(format: "%.2fx", $0))] } ?? []) + [
                ("peak memory", String(format: "%.1f MB", Double(peakRSSBytes) / 1e6)),
                ("train examples", "\(trainExamples)"),
                ("parameters", "\(parameters)"),
                ("epochs timed", epochRates.map { String(format: "%.0f", $0) }.joined(separator: " ")),
            ]
        ).render()
    }
}

/// Several thread counts measured turn by turn.
struct BenchComparison: Encodable {
    let results: [BenchResult]
}
