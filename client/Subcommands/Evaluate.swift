import ArgumentParser
import FedAttnCore
import FedAttnData
import FedAttnModel
import Foundation

extension ClientCommand {
    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Score a saved model on the test split of local data: AUC, log loss, HR@10, NDCG@10 and, over the whole catalogue, Recall@20 and NDCG@20, beside the most popular items."
        )

        @Option(name: .long, help: "A model written by `train --out` (.safetensors).")
        var model: String

        @OptionGroup var dataOptions: DataOptions

        @Option(name: .long, help: "Worker threads.")
        var threads = 1

        @Flag(name: .long, help: "Print one JSON object instead of a table.")
        var json = false

        @Option(
            name: .long,
            help:
                "Also measure recommend --diversity at these levels (e.g. 0,0.3,0.6): each user's top 20 over the catalogue re-ranked, its Recall@20 and NDCG@20 against the lists' intra-list diversity and catalogue coverage."
        )
        var diversityTradeOff: String?

        func validate() throws {
            if let diversityTradeOff {
                let levels = diversityTradeOff.split(separator: ",").map { Float($0) }
                guard !levels.isEmpty, levels.allSatisfy({ $0.map { (0...1).contains($0) } ?? false }) else {
                    throw ValidationError("--diversity-trade-off takes levels in [0, 1] separated by commas, got '\(diversityTradeOff)'")
                }
            }
        }

        func run() async throws {
            let model = try ModelFile.load(from: model)
            let data = try dataOptions.loadSplits(config: model.config, validationFraction: 0, ranking: true, needing: .test)
            let (log, test, duplicates) = (data.log, data.test, data.duplicateRows)
            Progress(enabled: !json).line(
                "data: \(dataOptions.dataName): \(log.rows) rows, \(test.count) test examples" + skippedNote(log, duplicateRows: duplicates))
            let evaluation = Evaluation(model: model, data: test, threads: threads)
            let ranked = model.rank(data.ranking, threads: threads)
            // The baseline: this data's own train rows' interaction counts, on the same negatives.
            let popular = Popularity(rows: model.config.items.rowCount, train: data.train)
                .rank(data.ranking, catalogue: data.ranking.catalogue(for: model.config.items))
            let levels = diversityTradeOff.map { $0.split(separator: ",").compactMap { Float($0) } } ?? []
            let diversity = Recommender(model: model).diversityTradeOff(
                data.ranking, catalogue: data.ranking.catalogue(for: model.config.items), levels: levels, threads: threads)
            let result = EvaluateResult(
                testAUC: evaluation.auc, testLogLoss: evaluation.logLoss, testExamples: test.count,
                testPositiveRate: test.positiveRate, hitRate: ranked.hitRate, ndcg: ranked.ndcg, rankedUsers: ranked.users,
                recallAt20: ranked.recallAt20, ndcgAt20: ranked.ndcgAt20, popularity: RankingFigures(popular),
                diversity: diversity.map(DiversityRow.init))
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
    /// Recall@20 and NDCG@20 over the whole catalogue.
    let recallAt20: Double?
    let ndcgAt20: Double?
    /// The most popular items of this data's train rows, on the same protocol.
    let popularity: RankingFigures
    /// With --diversity-trade-off: the figures at each level.
    let diversity: [DiversityRow]

    enum CodingKeys: String, CodingKey {
        case testAUC = "test_auc", testLogLoss = "test_logloss", testExamples = "test_examples"
        case testPositiveRate = "test_positive_rate", hitRate = "hr_at_10", ndcg = "ndcg_at_10", rankedUsers = "ranked_users"
        case recallAt20 = "recall_at_20", ndcgAt20 = "ndcg_at_20", popularity, diversity
    }

    func table() -> String {
        Table(
            rows: [
                ("test AUC", format(testAUC)), ("test log loss", format(testLogLoss)),
                ("test examples", "\(testExamples)"), ("test positive rate", String(format: "%.4f", testPositiveRate)),
                ("HR@10 / NDCG@10", "\(format(hitRate)) / \(format(ndcg)) over \(rankedUsers) users"),
                ("Recall@20 / NDCG@20 (catalogue)", "\(format(recallAt20)) / \(format(ndcgAt20))"),
                ("most popular items", popularity.line),
            ] + diversity.map { ("--diversity \($0.level)", $0.line) }
        ).render()
    }
}

/// `evaluate --diversity-trade-off`'s figures at one level.
struct DiversityRow: Encodable {
    let level: Float, recallAt20: Double, ndcgAt20: Double, intraListDiversity: Double, coverage: Double

    init(_ figures: Recommender.DiversityFigures) {
        (level, recallAt20, ndcgAt20) = (figures.diversity, figures.recall, figures.ndcg)
        (intraListDiversity, coverage) = (figures.intraListDiversity, figures.coverage)
    }

    enum CodingKeys: String, CodingKey {
        case level = "diversity", recallAt20 = "recall_at_20", ndcgAt20 = "ndcg_at_20", intraListDiversity = "intra_list_diversity", coverage
    }

    var line: String {
        String(
            format: "Recall@20 %.4f, NDCG@20 %.4f, intra-list diversity %.4f, catalogue coverage %.4f", recallAt20, ndcgAt20, intraListDiversity,
            coverage)
    }
}

/// Ranking metrics of one recommender, as reports print them.
struct RankingFigures: Encodable {
    let hitRate: Double?, ndcg: Double?, recallAt20: Double?, ndcgAt20: Double?

    init(_ sums: RankingSums) {
        (hitRate, ndcg, recallAt20, ndcgAt20) = (sums.hitRate, sums.ndcg, sums.recallAt20, sums.ndcgAt20)
    }

    enum CodingKeys: String, CodingKey {
        case hitRate = "hr_at_10", ndcg = "ndcg_at_10", recallAt20 = "recall_at_20", ndcgAt20 = "ndcg_at_20"
    }

    /// "HR@10 x / NDCG@10 y, Recall@20 z / NDCG@20 w".
    var line: String {
        "HR@10 \(format(hitRate)) / NDCG@10 \(format(ndcg)), Recall@20 \(format(recallAt20)) / NDCG@20 \(format(ndcgAt20))"
    }
}
