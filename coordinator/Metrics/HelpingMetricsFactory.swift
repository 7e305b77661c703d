import FedAttnFederation
import Metrics
import Prometheus

/// swift-metrics' factory for `serve`'s Prometheus registry, which registers every metric with
/// its `# HELP` line (`MetricsHelp`). swift-prometheus' own factory registers each with none,
/// and its registry takes a metric's help only when the metric is first made (a second help
/// text for a name traps), so the line has to come with the first registration: here.
/// Histogram buckets are swift-prometheus' defaults.
struct HelpingMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    /// swift-prometheus' factory on the same registry: its buckets, and what it does on destroy.
    private let plain: PrometheusMetricsFactory

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        plain = PrometheusMetricsFactory(registry: registry)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: MetricsHelp.line(label))
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: MetricsHelp.line(label))
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(name: label, labels: dimensions, help: MetricsHelp.line(label))
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(name: label, labels: dimensions, help: MetricsHelp.line(label)) }
        let buckets = plain.valueHistogramBuckets[label] ?? plain.defaultValueHistogramBuckets
        return registry.makeValueHistogram(name: label, labels: dimensions, buckets: buckets, help: MetricsHelp.line(label))
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets = plain.durationHistogramBuckets[label] ?? plain.defaultDurationHistogramBuckets
        return registry.makeDurationHistogram(name: label, labels: dimensions, buckets: buckets, help: MetricsHelp.line(label))
    }

    func destroyCounter(_ handler: any CounterHandler) { plain.destroyCounter(handler) }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { plain.destroyFloatingPointCounter(handler) }
    func destroyMeter(_ handler: any MeterHandler) { plain.destroyMeter(handler) }
    func destroyRecorder(_ handler: any RecorderHandler) { plain.destroyRecorder(handler) }
    func destroyTimer(_ handler: any TimerHandler) { plain.destroyTimer(handler) }
}
