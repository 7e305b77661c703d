import ArgumentParser
import FedAttnCore
import FedAttnData
import FedAttnModel
import Foundation

extension ClientCommand {
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure training throughput (examples per second) and peak memory.",
            discussion: "Runs warm-up epochs, then timed epochs, and reports the median epoch's throughput.")

        @OptionGroup var dataOptions: DataOptions
        @OptionGroup var modelOptions: ModelOptions

        @Option(name: .long, help: "Worker threads.")
        var threads = 1

        @Option(name: .long, help: "Timed epochs; the median is reported.")
        var epochs = 5

        @Option(name: .long, help: "Untimed epochs first.")
        var warmup = 1

        @Option(name: .long, help: "Examples per Adam step.")
        var batchSize = 256

        @Flag(name: .long, help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
            guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
            guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
        }

        func run() async throws {
            let progress = Progress(enabled: !json)
            let config = try modelOptions.config(usingBuiltInData: dataOptions.data == nil)
            let log = try dataOptions.loadLog(config: config)
            let (train, _) = ExampleBuilder(historyLength: config.historyLength).build(log)
            guard !train.isEmpty else { throw DataError.emptySilo(path: dataOptions.dataName) }
            let trainer = LocalTrainer(
                model: try AttentionModel(config: config, seed: 0),
                config: TrainingConfig(batchSize: batchSize, threads: threads))
            for epoch in 0..<warmup {
                trainer.trainEpoch(on: train)
                progress.line("warm-up epoch \(epoch + 1)/\(warmup) done")
            }
            var rates: [Double] = []
            for epoch in 0..<epochs {
                let report = trainer.trainEpoch(on: train)
                rates.append(Double(report.examples) / report.seconds)
                progress.line(String(format: "epoch %d/%d: %.0f examples/s", epoch + 1, epochs, rates.last!))
            }
            let sorted = rates.sorted()
            let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            let result = BenchResult(
                examplesPerSecond: median, threads: threads, peakRSSBytes: ResourceUsage.peakResidentBytes() ?? 0,
                trainExamples: train.count, epochRates: rates, parameters: trainer.model.parameterCount)
            print(json ? try encodeJSON(result) : result.table())
        }
    }
}

struct BenchResult: Encodable {
    let examplesPerSecond: Double
    let threads: Int
    let peakRSSBytes: Int
    let trainExamples: Int
    let epochRates: [Double]
    let parameters: Int

    enum CodingKeys: String, CodingKey {
        case examplesPerSecond = "examples_per_second", threads, peakRSSBytes = "peak_rss_bytes"
        case trainExamples = "train_examples", epochRates = "epoch_examples_per_second", parameters
    }

    func table() -> String {
        Table(rows: [
            ("examples/s (median epoch)", String(format: "%.0f", examplesPerSecond)),
            ("threads", "\(threads)"),
            ("peak memory", String(format: "%.1f MB", Double(peakRSSBytes) / 1e6)),
            ("train examples", "\(trainExamples)"),
            ("parameters", "\(parameters)"),
            ("epochs timed", epochRates.map { String(format: "%.0f", $0) }.joined(separator: " ")),
        ]).render()
    }
}
