import CoreMetrics
import Metrics

/// What the coordinator counts, through swift-metrics: `serve --metrics-port` exports it for
/// Prometheus; elsewhere (tests, simulations) nothing is bootstrapped and these cost nothing.
struct CoordinatorMetrics: Sendable {
    /// Rounds published and evaluated.
    let rounds = Counter(label: "fedattn_rounds_total")
    /// Attempts at a round that were trained again (no quorum, no model).
    let retries = Counter(label: "fedattn_round_retries_total")
    /// Clients whose connection is open.
    let connected = Gauge(label: "fedattn_clients_connected")
    /// Clients selected for the round in progress.
    let selected = Gauge(label: "fedattn_clients_selected")
    /// Updates folded into a round.
    let updates = Counter(label: "fedattn_updates_accepted_total")
    /// Compressed update bytes folded in.
    let bytesUp = Counter(label: "fedattn_update_bytes_total")
    /// Model bytes served to clients.
    let bytesDown = Counter(label: "fedattn_model_bytes_served_total")
    /// A round's wall time, from selection to its evaluation's end.
    let roundSeconds = Timer(label: "fedattn_round_seconds")
    /// From a round's close to its new model being served: aggregation, encoding, storing.
    let aggregationSeconds = Timer(label: "fedattn_aggregation_seconds")
    /// Failed attempts at storing a new model or a round's record.
    let storeFailures = Counter(label: "fedattn_store_failures_total")
    /// The round under way, or the last one started (at start: the last on record).
    let round = Gauge(label: "fedattn_round")

    /// Shows the figures of the last round on record: its pooled test AUC and, under
    /// differential privacy, the epsilon spent so far (DP-FedAvg's per silo, kind="client";
    /// DP-SGD's largest of a silo, kind="example"). Each is made when first known, so a
    /// federation without DP exports no epsilon, and one not yet evaluated no AUC.
    func showLastRound(_ record: RoundRecord) {
        if let auc = record.testAUC { Gauge(label: "fedattn_last_test_auc").record(auc) }
        if let epsilon = record.epsilon { Gauge(label: "fedattn_epsilon_spent", dimensions: [("kind", "client")]).record(epsilon) }
        if let epsilon = record.exampleEpsilon { Gauge(label: "fedattn_epsilon_spent", dimensions: [("kind", "example")]).record(epsilon) }
    }
}

/// The `# HELP` line of every metric a coordinator process exports (`serve --metrics-port`),
/// wherever it is counted (the coordinator's above, the transport's refusals, serve's own
/// build and certificate): serve's exporter registers each metric with its line, since a
/// Prometheus registry takes a metric's help only when the metric is first made. A metric
/// missing here is exported without one.
public enum MetricsHelp {
    /// Help lines by metric name.
    public static let lines: [String: String] = [
        "fedattn_rounds_total": "Rounds published and evaluated since this process started.",
        "fedattn_round_retries_total": "Attempts at a round that were trained again (no quorum, no model, a failed store).",
        "fedattn_clients_connected": "Clients whose connection is open.",
        "fedattn_clients_selected": "Clients selected for the round in progress.",
        "fedattn_updates_accepted_total": "Client updates folded into a round.",
        "fedattn_update_bytes_total": "Compressed update bytes folded into rounds.",
        "fedattn_model_bytes_served_total": "Model bytes served to clients.",
        "fedattn_round_seconds": "A round's wall time in seconds, from selecting its clients to the end of its evaluation.",
        "fedattn_aggregation_seconds": "Seconds from a round's close to its new model being served (aggregation, encoding, storing).",
        "fedattn_store_failures_total": "Failed attempts at storing a new model or a round's record.",
        "fedattn_refusals_total": "Calls refused, by gRPC status code and method.",
        "fedattn_round": "The round under way, or the last one started; at start, the last on record; once done, the federation's last.",
        "fedattn_last_test_auc": "Pooled test AUC of the last round evaluated, from the silos' score histograms.",
        "fedattn_epsilon_spent":
            "Privacy spent so far: kind=client is DP-FedAvg's epsilon per silo, kind=example the most a silo has spent under DP-SGD.",
        "fedattn_certificate_expiry_seconds": "Seconds until the coordinator's TLS certificate expires (negative once it has).",
        "fedattn_build_info": "Always 1; the labels name this build's release and the wire protocol it speaks.",
    ]

    /// The help line of `name`; empty (no `# HELP` line) for a metric not in `lines`.
    public static func line(_ name: String) -> String { lines[name] ?? "" }
}
