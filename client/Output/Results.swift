import Foundation

/// The outcome of `train`, as a table or JSON.
struct TrainResult: Encodable {
    let testAUC: Double?
    let testLogLoss: Double?
    let trainExamples: Int
    let testExamples: Int
    let epochs: Int
    let seconds: Double
    let trainSeconds: Double
    let parameters: Int
    let skippedRows: Int
    /// Rows that repeated an earlier row exactly and were counted once.
    let duplicateRows: Int
    /// Rows read, and the seconds to read them and build the examples.
    let rows: Int
    let readSeconds: Double
    /// Rows read and turned into examples per second.
    let rowsPerSecond: Double
    let validationExamples: Int
    /// The epoch with the best validation AUC, and its validation and test AUC (nil without a validation split).
    let bestEpoch: Int?
    let bestValidationAUC: Double?
    let bestTestAUC: Double?
    /// HR@10 and NDCG@10 of the model written (the kept epoch's with --patience), with --ranking.
    let hitRate: Double?
    let ndcg: Double?
    let rankedUsers: Int?
    /// Recall@20 and NDCG@20 over the whole catalogue, with --ranking.
    let recallAt20: Double?
    let ndcgAt20: Double?
    /// Sampled negatives per clicked row, and their sampling exponent.
    let negatives: Int
    let negativeExponent: Double
    /// With --ranking: the most popular train items on the same protocol.
    let popularity: RankingFigures?
    /// Examples the epochs trained on (with DP-SGD, those its Poisson samples drew).
    let examplesTrained: Int
    /// With DP-SGD: what the run spent.
    let privacy: Privacy?

    /// Example-level DP-SGD's guarantee for the run (RDP of the Poisson-subsampled Gaussian).
    struct Privacy: Encodable {
        let epsilon: Double
        let delta: Double
        let noiseMultiplier: Double
        let clipNorm: Double
        let samplingRate: Double
        let steps: Int

        enum CodingKeys: String, CodingKey {
            case epsilon, delta, noiseMultiplier = "noise_multiplier", clipNorm = "clip_norm", samplingRate = "sampling_rate", steps
        }
    }

    enum CodingKeys: String, CodingKey {
        case testAUC = "test_auc", testLogLoss = "test_logloss", trainExamples = "train_examples"
        case testExamples = "test_examples", epochs, seconds, trainSeconds = "train_seconds", parameters
        case skippedRows = "skipped_rows", duplicateRows = "duplicate_rows", rows, readSeconds = "read_seconds"
        case rowsPerSecond = "rows_read_per_second", validationExamples = "validation_examples", bestEpoch = "best_epoch"
        case bestValidationAUC = "best_validation_auc", bestTestAUC = "best_test_auc", hitRate = "hr_at_10", ndcg = "ndcg_at_10"
        case rankedUsers = "ranked_users", examplesTrained = "examples_trained", privacy
        case recallAt20 = "recall_at_20", ndcgAt20 = "ndcg_at_20", negatives, negativeExponent = "negative_exponent", popularity
    }

    func table() -> String {
        Table(
            rows: [
                ("test AUC", format(testAUC)),
                ("test log loss", format(testLogLoss)),
                ("train examples", "\(trainExamples)"),
                ("test examples", "\(testExamples)"),
                ("epochs", "\(epochs)"),
                ("parameters", "\(parameters)"),
                ("seconds", String(format: "%.2f", seconds)),
                ("training examples/s", String(format: "%.0f", Double(examplesTrained) / trainSeconds)),
                ("rows read/s", String(format: "%.0f (%d rows in %.1f s, examples built)", rowsPerSecond, rows, readSeconds)),
            ]
                + (bestEpoch.map {
                    [("kept epoch (best validation AUC)", "\($0): validation AUC \(format(bestValidationAUC)), test AUC \(format(bestTestAUC))")]
                } ?? [])
                + (privacy.map {
                    [
                        (
                            "DP-SGD (example level)",
                            String(
                                format: "epsilon %.3f at delta %.3g: noise multiplier %.4f, clip %g, sampling rate %.5f, %d steps", $0.epsilon,
                                $0.delta, $0.noiseMultiplier, $0.clipNorm, $0.samplingRate, $0.steps)
                        )
                    ]
                } ?? [])
                + (rankedUsers.map { [("HR@10 / NDCG@10", "\(format(hitRate)) / \(format(ndcg)) over \($0) users")] } ?? [])
                + (recallAt20 == nil ? [] : [("Recall@20 / NDCG@20 (catalogue)", "\(format(recallAt20)) / \(format(ndcgAt20))")])
                + (popularity.map { [("most popular items", $0.line)] } ?? [])
                + [("negatives per click", negatives > 0 ? String(format: "%d, exponent %g", negatives, negativeExponent) : "none")]
                + (skippedRows > 0 ? [("skipped malformed rows", "\(skippedRows)")] : [])
                + (duplicateRows > 0 ? [("duplicate rows counted once", "\(duplicateRows)")] : [])
        ).render()
    }

    func json() throws -> String { try encodeJSON(self) }
}

/// One JSON object on one line, keys sorted.
func encodeJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// A two-column table of names and values, aligned.
struct Table {
    let rows: [(String, String)]

    func render() -> String {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }
}
