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
}
