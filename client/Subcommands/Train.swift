import ArgumentParser
import FedAttnCore
import FedAttnData
import FedAttnModel
import Foundation

extension ClientCommand {
    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the model on local data and report test AUC and log loss.")

        @OptionGroup var dataOptions: DataOptions
        @OptionGroup var modelOptions: ModelOptions

        @Option(name: .long, help: "Passes over the training rows.")
        var epochs = 5

        @Option(name: .long, help: "Examples per Adam step.")
        var batchSize = 256

        @Option(name: .long, help: "Adam learning rate.")
        var learningRate: Float = 1e-3

        @Option(name: .long, help: "Seed for initialisation and shuffling.")
        var seed: UInt64 = 0

        @Option(name: .long, help: "Worker threads.")
        var threads = 1

        @Option(name: .long, help: "Write the trained model here (.safetensors).")
        var out: String?

        @Flag(name: .long, help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
            guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") }
        }

        func run() async throws {
            let progress = Progress(enabled: !json)
            let config = try modelOptions.config(usingBuiltInData: dataOptions.data == nil)
            let reading = ContinuousClock.now
            let (log, train, test, duplicates) = try dataOptions.loadExamples(config: config)
            let readSeconds = (ContinuousClock.now - reading).seconds
            progress.line(
                "data: \(dataOptions.dataName): \(log.rows) rows, \(log.users) users; "
                    + "\(train.count) train, \(test.count) test examples"
                    + String(format: "; read and built in %.1f s", readSeconds)
                    + skippedNote(log, duplicateRows: duplicates))

            let model = try AttentionModel(config: config, seed: seed)
            let trainer = LocalTrainer(
                model: model,
                config: TrainingConfig(batchSize: batchSize, learningRate: learningRate, seed: seed, threads: threads))
            let clock = ContinuousClock.now
            var trainSeconds = 0.0
            for epoch in 1...epochs {
                let report = trainer.trainEpoch(on: train) { done in
                    progress.update("epoch \(epoch)/\(epochs)  \(done)/\(train.count) examples")
                }
                trainSeconds += report.seconds
                let evaluation = Evaluation(model: trainer.model, data: test, threads: threads)
                progress.line(
                    String(
                        format: "epoch %d/%d  train loss %.4f  test AUC %@  log loss %@  %.0f examples/s",
                        epoch, epochs, report.meanLoss, format(evaluation.auc), format(evaluation.logLoss),
                        Double(report.examples) / report.seconds))
            }
            let seconds = (ContinuousClock.now - clock).seconds
            let final = Evaluation(model: trainer.model, data: test, threads: threads)
            if let out {
                try ModelFile.save(trainer.model, to: out)
                progress.line("model written to \(out)")
            }
            let result = TrainResult(
                testAUC: final.auc, testLogLoss: final.logLoss, trainExamples: train.count, testExamples: test.count,
                epochs: epochs, seconds: seconds, trainSeconds: trainSeconds, parameters: model.parameterCount,
                skippedRows: log.skippedRows, duplicateRows: duplicates, rows: log.rows, readSeconds: readSeconds,
                rowsPerSecond: readSeconds > 0 ? Double(log.rows) / readSeconds : 0)
            print(json ? try result.json() : result.table())
        }
    }
}

/// A note on skipped and duplicate rows for the progress line, or nothing.
func skippedNote(_ log: ClickLog.Summary, duplicateRows: Int = 0) -> String {
    var note = ""
    if log.skippedRows > 0 { note += "; skipped \(log.skippedRows) malformed rows (first: \(log.skippedExamples.first ?? ""))" }
    if duplicateRows > 0 {
        note += "; \(duplicateRows) rows repeated an earlier row exactly (user, item, timestamp, label, strategy) and were counted once"
    }
    return note
}

/// A metric with 4 decimals, or "n/a" where it is undefined.
func format(_ value: Double?) -> String {
    value.map { String(format: "%.4f", $0) } ?? "n/a"
}
