import FedAttnCodec
import FedAttnCore
import FedAttnModel
import Foundation

/// What a coordinator admits from a client, checked in one place whatever the transport (the
/// in-process link and gRPC take the same path): an update's payload and declared figures,
/// and an evaluation's counts and sums. Pure: it reads only the settings it was made with and
/// what the caller passes, so it runs off the actor, many at once.
struct Admission: Sendable {
    let modelConfig: ModelConfig
    let config: CoordinatorConfig

    /// The tensors that may travel as rows: the embedding tables.
    static let tables: Set<String> = [AttentionModel.TensorName.items, AttentionModel.TensorName.strategies]

    /// The largest payload of this model once decompressed (every table row listed, float32):
    /// no update decompresses to more (the protocol's `Limits.max_payload_bytes`).
    var maxPayloadBytes: Int { TensorPayload.maximumSize(of: AttentionModel.layout(for: modelConfig)) }

    /// Checks an update's declared figures, then decodes its payload against the model's layout.
    /// - Returns: the delta, every value finite, row 0 of the item table untouched, its L2 norm
    ///   within `config.maxUpdateNorm`.
    /// - Throws: `.invalidUpdate` naming `client` and what is wrong (examples under 1, train
    ///   seconds not finite or negative, a payload that does not decode or fit, a non-finite
    ///   value, a non-table tensor sent as rows, a moved padding row, a norm over the bound);
    ///   `.tooLarge` for a payload over `config.maxUpdateBytes`, one that decompresses past it
    ///   or past `maxPayloadBytes`, or a zstd frame whose window is over 2^`ZstdFrame.maxWindowLog`
    ///   bytes (the message names the window).
    func update(_ payload: Data, from client: String, examples: Int, trainSeconds: Double) throws(CoordinatorError) -> SparseWeights {
        guard examples >= 1 else { throw .invalidUpdate("update from '\(client)' must carry at least one example, got \(examples)") }
        guard trainSeconds.isFinite, trainSeconds >= 0 else {
            throw .invalidUpdate("update from '\(client)' took \(trainSeconds) seconds to train: a time is finite and not negative")
        }
        guard payload.count <= config.maxUpdateBytes else {
            throw .tooLarge("update from '\(client)' of \(payload.count) bytes, over the limit of \(config.maxUpdateBytes)")
        }
        let delta: SparseWeights
        do {
            let layout = AttentionModel.layout(for: modelConfig)
            delta = try TensorPayload.decode(payload, expecting: layout, maxBytes: min(config.maxUpdateBytes, maxPayloadBytes))
        } catch {
            switch error {
            case .tooLarge, .windowTooLarge: throw .tooLarge("update from '\(client)': \(error)")
            default: throw .invalidUpdate("update from '\(client)': \(error)")
            }
        }
        let layout = delta.layout
        for (index, tensor) in delta.tensors.enumerated() {
            let name = layout.tensors[index].name
            guard tensor.values.allSatisfy(\.isFinite) else {
                throw .invalidUpdate("update from '\(client)': tensor '\(name)' holds NaN or infinite values")
            }
            guard tensor.rows == nil || Self.tables.contains(name) else {
                throw .invalidUpdate("update from '\(client)': tensor '\(name)' is sent as rows; only the embedding tables may be")
            }
        }
        // Row 0 of the item table is padding: it never moves, and a silo may not move it.
        if let items = layout.index(of: AttentionModel.TensorName.items) {
            let tensor = delta.tensors[items], width = layout.tensors[items].shape[1]
            let padding: ArraySlice<Float>? =
                if let rows = tensor.rows { rows.first == 0 ? tensor.values[0..<width] : nil } else { tensor.values[0..<width] }
            guard padding?.allSatisfy({ $0 == 0 }) ?? true else {
                throw .invalidUpdate(
                    "update from '\(client)': tensor '\(AttentionModel.TensorName.items)' changes row 0, the padding row, which stays zero")
            }
        }
        let norm = delta.l2Norm
        guard norm <= config.maxUpdateNorm else {
            throw .invalidUpdate(
                String(format: "update from '%@' has norm %.3g, over the bound of %.3g", client, norm, config.maxUpdateNorm)
                    + (config.examplePrivacy != nil
                        ? " (under example-level DP-SGD every row carries noise, more with more noise: raise --max-update-norm)" : ""))
        }
        return delta
    }

    /// Checks an evaluation's figures: each summary's example count is its histograms' total
    /// (within `config.maxTrainExamples`, summed without overflow) and its log-loss sum finite,
    /// not negative, and 0 over no examples; no more validation examples than the client declared at Join
    /// (`declared`); ranking sums a ranking could give (hits at most the users, users at most
    /// the split's clicked rows, an NDCG sum between hits/log2(K+1) and hits; the most-popular
    /// baseline's sums, when sent, as the test split's).
    /// - Throws: `.invalidRequest` naming `client` and the figure.
    func evaluation(_ report: EvaluationReport, from client: String, declared: Int?) throws(CoordinatorError) {
        for (name, summary) in [("test", report.test), ("validation", report.validation)] {
            guard summary.logLossSum.isFinite, summary.logLossSum >= 0 else {
                throw .invalidRequest(
                    "evaluation from '\(client)' has a \(name) log-loss sum of \(summary.logLossSum): finite and not negative expected")
            }
            // Summed with overflow checked: a report of bins near 2^64 is refused, not a trap.
            var counted: UInt64 = 0
            for count in summary.positives + summary.negatives {
                let (sum, overflow) = counted.addingReportingOverflow(count)
                guard !overflow, sum <= UInt64(config.maxTrainExamples) else {
                    throw .invalidRequest(
                        "evaluation from '\(client)' counts more than \(config.maxTrainExamples) \(name) examples (--max-train-examples)")
                }
                counted = sum
            }
            guard UInt64(clamping: summary.examples) == counted else {
                throw .invalidRequest("evaluation from '\(client)' counts \(summary.examples) \(name) examples, but its histograms hold \(counted)")
            }
            // No examples, no loss: a split the client did not carve is all zeros.
            guard counted > 0 || summary.logLossSum == 0 else {
                throw .invalidRequest(
                    "evaluation from '\(client)' has a \(name) log-loss sum of \(summary.logLossSum) over no \(name) examples: 0 expected")
            }
        }
        // A validation split is carved from the train rows: a client claiming more validation
        // examples than it declared training ones would outweigh the others in the choice of
        // the round kept, and in when to stop.
        if let declared, report.validation.examples > declared {
            throw .invalidRequest(
                "evaluation from '\(client)' counts \(report.validation.examples) validation examples, more than the \(declared) training examples it declared at Join"
            )
        }
        // A ranked user has a clicked row of the split it is ranked on, so no split ranks more
        // users than its histograms hold positives (which a client cannot raise past what it
        // declared for validation); each hit adds between 1/log2(K + 1) and 1 to its NDCG sum.
        // A client claiming more would outweigh the others in the pooled figures and, under
        // --select-by ndcg, in the choice of the round kept.
        let testPositives = Int(clamping: report.test.positives.reduce(0, &+))
        let validationPositives = Int(clamping: report.validation.positives.reduce(0, &+))
        let r = report.ranking, v = report.validationRanking
        var rankings = [
            (r.users, r.hits, r.ndcgSum, RankingSums.k, testPositives, "sampled"),
            (r.catalogueUsers, r.hitsAt20, r.ndcgAt20Sum, RankingSums.catalogueK, testPositives, "catalogue"),
            (v.users, v.hits, v.ndcgSum, RankingSums.k, validationPositives, "validation"),
        ]
        // The most-popular baseline ranks the same test users: the same bounds.
        if let p = report.popularity {
            rankings.append((p.users, p.hits, p.ndcgSum, RankingSums.k, testPositives, "most-popular baseline, sampled"))
            rankings.append((p.catalogueUsers, p.hitsAt20, p.ndcgAt20Sum, RankingSums.catalogueK, testPositives, "most-popular baseline, catalogue"))
        }
        for (users, hits, sum, k, positives, what) in rankings {
            let fewest = Double(hits) / log2(Double(k) + 1) - 1e-9
            guard users >= 0, users <= positives, hits >= 0, hits <= users, sum.isFinite, sum >= fewest, sum <= Double(hits) + 1e-9 else {
                throw .invalidRequest(
                    "evaluation from '\(client)' ranks \(users) users (\(what), \(positives) clicked rows) with \(hits) hits and an NDCG sum of \(sum): not possible"
                )
            }
        }
    }
}
