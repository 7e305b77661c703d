import ArgumentParser
import FedAttnData
import FedAttnModel
import Foundation

extension ClientCommand {
    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score a saved model on the test split of local data: AUC and log loss.")

        @Option(name: .long, help: "A model written by `train --out` (.safetensors).")
        var model: String

        @OptionGroup var dataOptions: DataOptions

        @Option(name: .long, help: "Worker threads.")
        var threads = 1

        @Flag(name: .long, help: "Print one JSON object instead of a table.")
        var json = false

        func run() async throws {
            let model = try ModelFile.load(from: model)
            let (log, _, test, duplicates) = try dataOptions.loadExamples(config: model.config, needing: .test)
            Progress(enabled: !json).line(
                "data: \(dataOptions.dataName): \(log.rows) rows, \(test.count) test examples" + skippedNote(log, duplicateRows: duplicates))
            let evaluation = Evaluation(model: model, data: test, threads: threads)
            let result = EvaluateResult(
                testAUC: evaluation.auc, testLogLoss: evaluation.logLoss, testExamples: test.count,
                testPositiveRate: test.positiveRate)
            print(json ? try encodeJSON(result) : result.table())
        }
    }
}

struct EvaluateResult: Encodable {
    let testAUC: Double?
    let testLogLoss: Double?
    let testExamples: Int
    let testPositiveRate: Double

    enum CodingKeys: String, CodingKey {
        case testAUC = "test_auc", testLogLoss = "test_logloss", testExamples = "test_examples"
        case testPositiveRate = "test_positive_rate"
    }

    func table() -> String {
        Table(rows: [
            ("test AUC", format(testAUC)), ("test log loss", format(testLogLoss)),
            ("test examples", "\(testExamples)"), ("test positive rate", String(format: "%.4f", testPositiveRate)),
        ]).render()
    }
}
