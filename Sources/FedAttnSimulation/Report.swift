public import FedAttnFederation
public import FedAttnModel
import Foundation

/// One round of a federation, as the simulation reports it.
public struct RoundReport: Sendable, Encodable {
    init(_ record: RoundRecord, clients: Int) {
        round = record.round
        self.clients = clients
        testAUC = record.testAUC
        testLogLoss = record.testLogLoss
        bytesUpPerClient = record.bytesUpPerClient
        bytesDownPerClient = record.bytesDownPerClient
        seconds = record.seconds
        trainSecondsMax = record.trainSecondsMax
        validationAUC = record.validationAUC
        hitRate = record.hitRate
        ndcg = record.ndcg
        validationNDCG = record.validationNDCG
        recallAt20 = record.recallAt20
        ndcgAt20 = record.ndcgAt20
        epsilon = record.epsilon
        exampleEpsilon = record.exampleEpsilon
        evaluatedClients = record.evaluatedClients
        retries = record.retries.count
        disputes = record.disputes
    }

    public let round: Int
    public let clients: Int
    public let testAUC: Double?
    public let testLogLoss: Double?
    public let bytesUpPerClient: Int
    public let bytesDownPerClient: Int
    public let seconds: Double
    /// The slowest client's local training in the round's last attempt; `seconds` spans every
    /// attempt of the round.
    public let trainSecondsMax: Double
    /// A trimmed mean of the silos' validation AUCs (nil without any validation split).
    public let validationAUC: Double?
    /// HR@10 and NDCG@10, leave-one-out, pooled over the silos' users.
    public let hitRate: Double?
    public let ndcg: Double?
    /// NDCG@10 of the silos' validation ranking cases (what `--select-by ndcg` keeps by).
    public let validationNDCG: Double?
    /// Recall@20 and NDCG@20 over the whole catalogue, pooled over the silos' users.
    public let recallAt20: Double?
    public let ndcgAt20: Double?
    /// With DP-FedAvg: the epsilon spent per silo so far.
    public let epsilon: Double?
    /// With example-level DP-SGD: the largest epsilon a silo has spent so far.
    public let exampleEpsilon: Double?
    /// Clients whose evaluation of the round's model was pooled.
    public let evaluatedClients: Int
    /// Attempts at the round that failed before it closed (no quorum, a secure phase short of its threshold).
    public let retries: Int
    /// Silos whose evaluation disagreed or overclaimed (`RoundRecord.disputes`).
    public let disputes: [String]

    enum CodingKeys: String, CodingKey {
        case round, clients, testAUC = "test_auc", testLogLoss = "test_logloss"
        case bytesUpPerClient = "bytes_up_per_client", bytesDownPerClient = "bytes_down_per_client"
        case seconds, trainSecondsMax = "train_seconds_max", validationAUC = "validation_auc", hitRate = "hr_at_10", ndcg = "ndcg_at_10"
        case epsilon, exampleEpsilon = "example_epsilon", evaluatedClients = "evaluated_clients", retries
        case recallAt20 = "recall_at_20", ndcgAt20 = "ndcg_at_20", validationNDCG = "validation_ndcg_at_10", disputes
    }

    /// The row of the table.
    public var line: String {
        String(
            format: "%5d %7d %9@ %9@ %9@ %7@ %7@ %9@ %7@ %10d %10d %8.2f %8.2f", round, clients, metric(testAUC), metric(testLogLoss),
            metric(validationAUC), metric(hitRate), metric(ndcg), metric(recallAt20), metric(ndcgAt20), bytesUpPerClient, bytesDownPerClient,
            seconds, trainSecondsMax)
            + (epsilon.map { String(format: "  epsilon %.3f (DP-FedAvg)", $0) } ?? "")
            + (exampleEpsilon.map { String(format: "  epsilon %.3f (DP-SGD, largest)", $0) } ?? "")
            + (disputes.isEmpty ? "" : "  disputed: \(disputes.count)")
    }

    public static let header =
        "round clients  test AUC  log loss   val AUC   HR@10 NDCG@10 Recall@20 NDCG@20   bytes up bytes down  seconds train max"
}

/// A whole simulated federation.
public struct SimulationReport: Sendable, Encodable {
    public let rounds: [RoundReport]
    public let modelBytesFloat32: Int
    /// How clients and coordinator talked.
    public let link: String
    /// The server optimiser and its settings.
    public let strategy: String
    /// The global model after the last round.
    public let finalModel: AttentionModel
    /// The rounds as the coordinator recorded them.
    public let records: [RoundRecord]
    /// What the kept round was chosen by.
    public let selectBy: SelectionMetric
    /// The model of the round kept by validation AUC, if any round was.
    public let keptModel: AttentionModel?
    /// The most popular items on the same ranking protocol (`SimulatedSilo.popularity`), when measured.
    public var popularity: RankingSums? = nil
    /// With hostile silos: the kept model evaluated on the honest silos alone, which is what
    /// their users get whatever the hostile ones reported.
    public var keptOnHonestSilos: EvaluationReport? = nil

    enum CodingKeys: String, CodingKey {
        case rounds, modelBytesFloat32 = "model_bytes_float32", testAUC = "test_auc", link, strategy
        case meanOverheadSeconds = "mean_overhead_seconds"
        case bestRound = "best_round", bestTestAUC = "best_test_auc", bestValidationAUC = "best_validation_auc"
        case bestHitRate = "best_hr_at_10", bestNDCG = "best_ndcg_at_10", bestRecallAt20 = "best_recall_at_20", bestNDCGAt20 = "best_ndcg_at_20"
        case popularity, selectBy = "select_by", bestValidationNDCG = "best_validation_ndcg_at_10"
        case bestOnHonestSilos = "best_on_honest_silos"
    }

    public var finalAUC: Double? { rounds.last?.testAUC }

    /// The round kept: the highest validation AUC (the first of equals), as the coordinator
    /// chooses it; nil when no silo had a validation split.
    public var best: RoundReport? {
        let kept = ModelSelection(patience: 0, metric: selectBy, replaying: records).bestRound
        return rounds.first { $0.round == kept }
    }

    /// Mean over rounds of (round seconds - slowest client's training).
    public var meanOverheadSeconds: Double {
        rounds.isEmpty ? 0 : rounds.reduce(0) { $0 + $1.seconds - $1.trainSecondsMax } / Double(rounds.count)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rounds, forKey: .rounds)
        try c.encode(modelBytesFloat32, forKey: .modelBytesFloat32)
        try c.encode(finalAUC, forKey: .testAUC)
        try c.encode(link, forKey: .link)
        try c.encode(strategy, forKey: .strategy)
        try c.encode(meanOverheadSeconds, forKey: .meanOverheadSeconds)
        try c.encode(best?.round, forKey: .bestRound)
        try c.encode(best?.testAUC, forKey: .bestTestAUC)
        try c.encode(best?.validationAUC, forKey: .bestValidationAUC)
        try c.encode(best?.validationNDCG, forKey: .bestValidationNDCG)
        try c.encode(selectBy.rawValue, forKey: .selectBy)
        try c.encode(best?.hitRate, forKey: .bestHitRate)
        try c.encode(best?.ndcg, forKey: .bestNDCG)
        try c.encode(best?.recallAt20, forKey: .bestRecallAt20)
        try c.encode(best?.ndcgAt20, forKey: .bestNDCGAt20)
        try c.encode(
            popularity.map {
                ["hr_at_10": $0.hitRate, "ndcg_at_10": $0.ndcg, "recall_at_20": $0.recallAt20, "ndcg_at_20": $0.ndcgAt20]
            }, forKey: .popularity)
        try c.encode(
            keptOnHonestSilos.map {
                ["test_auc": $0.test.auc, "hr_at_10": $0.ranking.hitRate, "ndcg_at_10": $0.ranking.ndcg, "recall_at_20": $0.ranking.recallAt20]
            }, forKey: .bestOnHonestSilos)
    }

    /// The closing lines under the table.
    public var summary: String {
        let up = rounds.map(\.bytesUpPerClient).reduce(0, +) / max(rounds.count, 1)
        let kept =
            best.map {
                String(
                    format:
                        "kept: round %d by %@ (validation AUC %@, validation NDCG@10 %@; test AUC %@, HR@10 %@, NDCG@10 %@, Recall@20 %@, NDCG@20 %@)\n",
                    $0.round, selectBy.settingName, metric($0.validationAUC), metric($0.validationNDCG), metric($0.testAUC), metric($0.hitRate),
                    metric($0.ndcg), metric($0.recallAt20), metric($0.ndcgAt20))
            }
            ?? ""
        let popular =
            popularity.map {
                String(
                    format: "most popular items (counts summed over the silos): HR@10 %@, NDCG@10 %@, Recall@20 %@, NDCG@20 %@\n",
                    metric($0.hitRate), metric($0.ndcg), metric($0.recallAt20), metric($0.ndcgAt20))
            } ?? ""
        let honest =
            keptOnHonestSilos.map {
                String(
                    format: "kept model on the honest silos alone: test AUC %@, HR@10 %@, NDCG@10 %@, Recall@20 %@\n", metric($0.test.auc),
                    metric($0.ranking.hitRate), metric($0.ranking.ndcg), metric($0.ranking.recallAt20))
            } ?? ""
        return kept + honest + popular
            + String(
                format: "model as float32: %d bytes; mean upload %d bytes (%.1f%% of it); mean overhead %.2f s per round; link: %@; server: %@",
                modelBytesFloat32, up, 100 * Double(up) / Double(modelBytesFloat32), meanOverheadSeconds, link, strategy)
    }
}

private func metric(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "n/a" }
