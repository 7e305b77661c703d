import ArgumentParser
import FedAttnFederation
import FedAttnModel
import Foundation

extension CoordinatorCommand {
    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the round history kept in a state folder.")

        @Option(name: .long, help: "The coordinator's state folder.") var state: String
        @Flag(name: .long, help: "Print one JSON object instead of a table.") var json = false

        /// The example-level delta the run was served with, when it was set (settings.json; nil: 1 / N).
        private func recordedExampleDelta() -> Double? {
            guard let data = FileManager.default.contents(atPath: (state as NSString).appendingPathComponent("settings.json")),
                let settings = try? JSONSerialization.jsonObject(with: data) as? [String: String]
            else { return nil }
            return settings.first { $0.key.hasSuffix("DP-SGD delta") }.flatMap { Double($0.value) }
        }

        func run() async throws {
            guard FileManager.default.fileExists(atPath: (state as NSString).appendingPathComponent("history.sqlite")) else {
                throw ValidationError("\(state): no history.sqlite; is this a coordinator's state folder?")
            }
            let store = try StateStore.reading(folder: state)
            let rounds = try store.rounds()
            // Example-level DP: every silo's spend, from the folder's ledger (none in an older folder).
            let perSilo = PrivacyCharge.spentPerSilo((try? store.privacyCharges()) ?? [], delta: recordedExampleDelta())
            // The round kept (best.safetensors), by the metric the coordinator chose it by.
            let selection = recordedSelection(state)
            let best = ModelSelection(patience: 0, metric: selection, replaying: rounds.compactMap(\.evaluation)).bestRound
            // The most-popular baseline (none in a folder from before it, nor one not yet migrated).
            let popularity = (try? store.popularity())?.baseline
            if json {
                let objects: [[String: Any]] = rounds.map { r in
                    var o: [String: Any] = [
                        "round": r.round, "version": r.version, "model_file": r.modelFile, "participants": r.participants,
                        "examples": r.examples, "bytes_up_per_client": r.bytesUpPerClient, "train_seconds_max": r.trainSecondsMax,
                        "evaluated": r.evaluation != nil,
                    ]
                    if let e = r.evaluation {
                        o["test_auc"] = e.testAUC ?? NSNull()
                        o["test_logloss"] = e.testLogLoss ?? NSNull()
                        o["evaluated_clients"] = e.evaluatedClients
                        o["bytes_down_per_client"] = e.bytesDownPerClient
                        o["seconds"] = e.seconds
                        o["retries"] = e.retries
                        o["validation_auc"] = e.validationAUC ?? NSNull()
                        o["hr_at_10"] = e.hitRate ?? NSNull()
                        o["ndcg_at_10"] = e.ndcg ?? NSNull()
                        o["validation_ndcg_at_10"] = e.validationNDCG ?? NSNull()
                        o["recall_at_20"] = e.recallAt20 ?? NSNull()
                        o["ndcg_at_20"] = e.ndcgAt20 ?? NSNull()
                        o["epsilon"] = e.epsilon ?? NSNull()
                        o["example_epsilon"] = e.exampleEpsilon ?? NSNull()
                        o["disputes"] = e.disputes
                        o["silo_scores"] = e.siloScores.mapValues { s in
                            [
                                "validation_auc": s.validationAUC, "validation_ndcg_at_10": s.validationNDCG, "test_auc": s.testAUC,
                                "hr_at_10": s.hitRate,
                            ]
                            .mapValues { $0 ?? NSNull() as Any }
                        }
                    }
                    return o
                }
                var object: [String: Any] = [
                    "rounds": objects, "best_round": best.map { $0 as Any } ?? NSNull(), "select_by": selection.rawValue,
                    "schema": try store.appliedSchema().last ?? "",
                    "popularity": popularity.map { popularityObject($0) as Any } ?? NSNull(),
                ]
                if !perSilo.isEmpty {
                    object["example_privacy_per_silo"] = perSilo.mapValues {
                        ["rounds_charged": $0.rounds, "examples": $0.examples, "epsilon": $0.epsilon]
                    }
                }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            // Epsilon columns only for a private run: DP-FedAvg's per silo, DP-SGD's largest of a silo.
            let evaluations = rounds.compactMap(\.evaluation)
            let (clientLevel, exampleLevel) = (evaluations.contains { $0.epsilon != nil }, evaluations.contains { $0.exampleEpsilon != nil })
            print(
                "round  version           clients  examples  test AUC  log loss   val AUC   HR@10 Recall@20  bytes up  seconds"
                    + (clientLevel ? "  epsilon" : "") + (exampleLevel ? "  example eps" : "") + "  retries")
            func metric(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "-" }
            // A round evaluated by fewer silos than an earlier one: another population's figures.
            var fullest = 0
            for r in rounds {
                let e = r.evaluation
                let partial = e.map { $0.evaluatedClients < fullest } ?? false
                defer { fullest = max(fullest, e?.evaluatedClients ?? 0) }
                print(
                    String(
                        format: "%5d%@ %@  %7d  %8d  %8@  %8@  %8@  %6@  %8@  %8d  %7@%@%@  %@", r.round, r.round == best ? "*" : " ",
                        String(r.version.prefix(16)),
                        r.participants.count, r.examples, metric(e?.testAUC), metric(e?.testLogLoss), metric(e?.validationAUC), metric(e?.hitRate),
                        metric(e?.recallAt20),
                        r.bytesUpPerClient, e.map { String(format: "%.2f", $0.seconds) } ?? "-",
                        clientLevel ? String(format: "  %7@", metric(e?.epsilon)) : "",
                        exampleLevel ? String(format: "  %11@", metric(e?.exampleEpsilon)) : "",
                        e.map { ($0.retries + (partial ? ["evaluated by \($0.evaluatedClients) of \(fullest) silos"] : [])).joined(separator: "; ") }
                            ?? "not evaluated"))
            }
            if let best { print("* kept (best \(selection.settingName)): round \(best), \(StateStore.bestModelFile)") }
            if let popularity { print(popularity.line) }
            let schema = try store.appliedSchema().last ?? "none"
            print(
                "state folder schema: \(schema)"
                    + (schema == StateStore.schemaVersion ? "" : " (this build's: \(StateStore.schemaVersion); serve migrates it)"))
            // Disputed evaluations (a silo far from the others, or claiming more than its share).
            for r in rounds { for dispute in r.evaluation?.disputes ?? [] { print("round \(r.round): disputed: \(dispute)") } }
            if !perSilo.isEmpty {
                print(
                    "example-level epsilon spent per silo (round attempts charged): "
                        + perSilo.sorted { $0.key < $1.key }.map { String(format: "%@ %.3f (%d)", $0.key, $0.value.epsilon, $0.value.rounds) }
                        .joined(separator: ", "))
            }
        }
    }
}

/// The most-popular baseline as `history --json` writes it: the figures under `simulate
/// --json`'s keys (null until measured), where it stands, and from which silos.
func popularityObject(_ baseline: PopularityBaseline) -> [String: Any] {
    let figures = baseline.isMeasured ? baseline.sums : RankingSums()
    let values: [String: Double?] = [
        "hr_at_10": figures.hitRate, "ndcg_at_10": figures.ndcg, "recall_at_20": figures.recallAt20, "ndcg_at_20": figures.ndcgAt20,
    ]
    var object: [String: Any] = values.mapValues { $0 ?? NSNull() as Any }
    object["status"] = baseline.status.rawValue
    object["note"] = baseline.whyNotMeasured ?? NSNull()
    object["pooled_from"] = baseline.pooledFrom
    // Under secure aggregation (protocol 11): the silos of the secure sum that carried the
    // counts (each shared or declined) and how many shared; pooled_from is then empty.
    object["summed_securely"] = baseline.summedSecurely
    object["summed_over"] = baseline.summedOver
    object["shared_by"] = baseline.sharers
    object["declined"] = baseline.declined
    // Clients whose protocol shares no counts (9; under the secure sum, 9 and 10):
    // `old_protocol`, and `protocol_9` as release 0.2 named it.
    object["old_protocol"] = baseline.oldProtocol
    object["protocol_9"] = baseline.oldProtocol
    object["scored_by"] = baseline.scoredBy
    object["items"] = baseline.items
    object["ranked_users"] = baseline.sums.users
    object["catalogue_ranked_users"] = baseline.sums.catalogueUsers
    return object
}

/// What `serve` kept its round by, as its settings.json in `state` says (AUC when it does not).
func recordedSelection(_ state: String) -> SelectionMetric {
    guard let data = FileManager.default.contents(atPath: (state as NSString).appendingPathComponent("settings.json")),
        let settings = try? JSONSerialization.jsonObject(with: data) as? [String: String]
    else { return .auc }
    return SelectionMetric(settingName: settings.first { $0.key.hasSuffix(" keep the round by") }?.value)
}
