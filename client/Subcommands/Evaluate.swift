import ArgumentParser
import FedAttnData
import FedAttnModel
import Foundation

extension ClientCommand {
    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score a saved model on the test split of local data: AUC, log loss, HR@10 and NDCG@10.")

        @Option(name: .long, help: "A model written by `train --out` (.safetensors).")
        var model: String

        @OptionGroup var dataOptions: DataOptions

        @Option(name: .long, help: "Worker threads.")
        var threads = 1

        @Flag(name: .long, help: "Print one JSON object instead of a table.")
        var json = false

        func run() async throws {
            let model = try ModelFile.load(from: model)
            let data = try dataOptions.loadSplits(config: model.config, validationFraction: 0, ranking: true, needing: .test)
            let (log, test, duplicates) = (data.log, data.test, data.duplicateRows)
            Progress(enabled: !json).line(
                "data: \(dataOptions.dataName): \(log.rows) rows, \(test.count) test examples" + skippedNote(log, duplicateRows: duplicates))
            let evaluation = Evaluation(model: model, data: test, threads: threads)
            let ranked = model.rank(data.ranking, threads: threads)
            let result = EvaluateResult(
                testAUC: evaluation.auc, testLogLoss: evaluation.logLoss, testExamples: test.count,
                testPositiveRate: test.positiveRate, hitRate: ranked.hitRate, ndcg: ranked.ndcg, rankedUsers: ranked.users)
            print(json ? try encodeJSON(result) : result.table())
        }
    }
}

struct EvaluateResult: Encodable {
    let testAUC: Double?
    let testLogLoss: Double?
    let testExamples: Int
    let testPositiveRate: Double
    /// Leave-one-out HR@10 and NDCG@10 over `rankedUsers` users.
    let hitRate: Double?
    let ndcg: Double?
    let rankedUsers: Int

    enum CodingKeys: String, CodingKey {
        case testAUC = "test_auc", testLogLoss = "test_logloss", testExamples = "test_examples"
        case testPositiveRate = "test_positive_rate", hitRate = "hr_at_10", ndcg = "ndcg_at_10", rankedUsers = "ranked_users"
    }

    func table() -> String {
        Table(rows: [
            ("test AUC", format(testAUC)), ("test log loss", format(testLogLoss)),
            ("test examples", "\(testExamples)"), ("test positive rate", String(format: "%.4f", testPositiveRate)),
            ("HR@10 / NDCG@10", "\(format(hitRate)) / \(format(ndcg)) over \(rankedUsers) users"),
        ]).render()
    }
}
