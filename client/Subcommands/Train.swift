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
        @OptionGroup(title: "Example-level differential privacy") var privacy: DPSGDOptions
        @OptionGroup(title: "Training to rank") var negatives: NegativeOptions

        @Option(name: .long, help: "Passes over the training rows.")
        var epochs = 5

        @Option(name: .long, help: "Labelled rows per Adam step (each with its sampled negatives).")
        var batchSize = 256

        @Option(name: .long, help: "Adam learning rate.")
        var learningRate: Float = 1e-3

        @Option(name: .long, help: "Seed for initialisation and shuffling.")
        var seed: UInt64 = 0

        @Option(name: .long, help: "Worker threads.")
        var threads = 1

        @Option(name: .long, help: "Write the trained model here (.safetensors): the kept epoch's with --patience.")
        var out: String?

        @Option(
            name: .long,
            help:
                "Share of each user's train rows held out (at random) as a validation split, scored after every epoch. Default: 0.1 with --patience, else 0."
        )
        var validationFraction: Double?

        @Option(
            name: .long,
            help:
                "Keep the epoch with the best validation AUC, and stop once it has not improved for this many epochs (0: run every epoch, keep the last)."
        )
        var patience = 0

        @Flag(
            name: .long,
            help:
                "Also rank each user's last clicked test item among 99 items it never interacted with (HR@10, NDCG@10) and among the whole catalogue (Recall@20, NDCG@20)."
        )
        var ranking = false

        @Flag(name: .long, help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
            guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") }
            guard patience >= 0 else { throw ValidationError("--patience must be 0 (run every epoch) or more") }
            if let validationFraction {
                guard validationFraction >= 0, validationFraction < 1 else { throw ValidationError("--validation-fraction must lie in [0, 1)") }
                guard patience == 0 || validationFraction > 0 else { throw ValidationError("--patience needs a --validation-fraction above 0") }
            }
        }

        func run() async throws {
            let progress = Progress(enabled: !json)
            let config = try modelOptions.config(usingBuiltInData: dataOptions.data == nil)
            let reading = ContinuousClock.now
            let fraction = validationFraction ?? (patience > 0 ? 0.1 : 0)
            let data = try dataOptions.loadSplits(config: config, validationFraction: fraction, ranking: ranking)
            let (log, train, validation, test, duplicates) = (data.log, data.train, data.validation, data.test, data.duplicateRows)
            let readSeconds = (ContinuousClock.now - reading).seconds
            progress.line(
                "data: \(dataOptions.dataName): \(log.rows) rows, \(log.users) users; "
                    + "\(train.count) train, \(validation.isEmpty ? "" : "\(validation.count) validation, ")\(test.count) test examples"
                    + String(format: "; read and built in %.1f s", readSeconds)
                    + skippedNote(log, duplicateRows: duplicates))

            let model = try AttentionModel(config: config, seed: seed)
            let dp = try privacy.plan(examples: train.count, batchSize: batchSize, epochs: epochs)
            if let dp {
                progress.line(
                    String(
                        format: "DP-SGD: clip %g, noise multiplier %.4f, sampling rate %.5f, %d steps an epoch, delta %.3g%@",
                        dp.config.clipNorm, dp.config.noiseMultiplier, dp.samplingRate, dp.stepsPerEpoch, dp.delta,
                        threads > 1 ? " (one thread: DP-SGD does not split batches)" : ""))
            }
            let trainer = TrainingConfig(
                batchSize: batchSize, learningRate: learningRate, seed: seed, threads: threads, privacy: dp?.config,
                negatives: negatives.sampling
            ).makeTrainer(for: model)
            let clock = ContinuousClock.now
            var trainSeconds = 0.0, examplesTrained = 0
            // Early stopping: the epoch with the best validation AUC is kept (the first of equals).
            var kept: (epoch: Int, validationAUC: Double, model: AttentionModel)?
            var epochsRun = 0
            for epoch in 1...epochs {
                let report = trainer.trainEpoch(on: train) { done in
                    progress.update("epoch \(epoch)/\(epochs)  \(done)/\(train.count) examples")
                }
                trainSeconds += report.seconds
                examplesTrained += report.examples
                epochsRun = epoch
                let evaluation = Evaluation(model: trainer.model, data: test, threads: threads)
                let checked = validation.isEmpty ? nil : Evaluation(model: trainer.model, data: validation, threads: threads).auc
                // With --ranking (and a table to show it), each epoch's ranking too.
                let epochRanking = ranking && !json ? trainer.model.rank(data.ranking, threads: threads) : nil
                progress.line(
                    String(
                        format: "epoch %d/%d  train loss %.4f  test AUC %@  log loss %@%@%@%@  %.0f examples/s",
                        epoch, epochs, report.meanLoss, format(evaluation.auc), format(evaluation.logLoss),
                        checked.map { "  validation AUC " + format($0) } ?? "",
                        epochRanking.map {
                            "  HR@10 \(format($0.hitRate))  NDCG@10 \(format($0.ndcg))  Recall@20 \(format($0.recallAt20))  NDCG@20 \(format($0.ndcgAt20))"
                        } ?? "",
                        dp.map { String(format: "  epsilon %.3f", $0.epsilon(afterEpochs: epoch)) } ?? "",
                        Double(report.examples) / report.seconds))
                if let checked, kept.map({ checked > $0.validationAUC }) ?? true {
                    kept = (epoch, checked, trainer.model)
                } else if let best = kept, patience > 0, epoch - best.epoch >= patience {
                    progress.line("stopping: the validation AUC has not improved for \(patience) epochs (best: epoch \(best.epoch))")
                    break
                }
            }
            let seconds = (ContinuousClock.now - clock).seconds
            let final = Evaluation(model: trainer.model, data: test, threads: threads)
            // With early stopping the kept epoch's model is the result.
            let resultModel = patience > 0 ? (kept?.model ?? trainer.model) : trainer.model
            let best = kept.map { Evaluation(model: $0.model, data: test, threads: threads) }
            let ranked = ranking ? resultModel.rank(data.ranking, threads: threads) : nil
            // The most popular train items, on the same protocol and negatives, beside the model.
            let popular =
                ranking
                ? Popularity(rows: config.items.rowCount, train: train).rank(data.ranking, catalogue: data.ranking.catalogue(for: config.items))
                : nil
            if let out {
                try ModelFile.save(resultModel, to: out)
                progress.line("model written to \(out)\(patience > 0 ? " (epoch \(kept?.epoch ?? epochsRun))" : "")")
            }
            let result = TrainResult(
                testAUC: final.auc, testLogLoss: final.logLoss, trainExamples: train.count, testExamples: test.count,
                epochs: epochsRun, seconds: seconds, trainSeconds: trainSeconds, parameters: model.parameterCount,
                skippedRows: log.skippedRows, duplicateRows: duplicates, rows: log.rows, readSeconds: readSeconds,
                rowsPerSecond: readSeconds > 0 ? Double(log.rows) / readSeconds : 0, validationExamples: validation.count,
                bestEpoch: kept?.epoch, bestValidationAUC: kept?.validationAUC, bestTestAUC: best?.auc, hitRate: ranked?.hitRate,
                ndcg: ranked?.ndcg, rankedUsers: ranked?.users, recallAt20: ranked?.recallAt20, ndcgAt20: ranked?.ndcgAt20,
                negatives: negatives.negatives, negativeExponent: negatives.negativeExponent, popularity: popular.map(RankingFigures.init),
                examplesTrained: examplesTrained,
                privacy: dp.map {
                    TrainResult.Privacy(
                        epsilon: $0.epsilon(afterEpochs: epochsRun), delta: $0.delta, noiseMultiplier: Double($0.config.noiseMultiplier),
                        clipNorm: Double($0.config.clipNorm), samplingRate: $0.samplingRate, steps: epochsRun * $0.stepsPerEpoch)
                })
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
