import InMemoryLogging
public import Logging

/// Log lines a test collects from a `Logger` it hands to the code under test, at every level,
/// and can await (`waitFor`), woken by the line itself.
public final class LogLines: Sendable {
    private let handler: InMemoryLogHandler = {
        var handler = InMemoryLogHandler()
        handler.logLevel = .trace
        return handler
    }()
    /// Grows by a newline at each line logged: what `waitFor` is woken by.
    private let arrivals = WatchedText()

    public init() {}

    /// A logger whose lines this collects.
    public var logger: Logger { Logger(label: "test", factory: { [handler, arrivals] _ in Announcing(inner: handler, arrivals: arrivals) }) }
    /// The messages so far, oldest first.
    public var all: [String] { handler.entries.map { "\($0.message)" } }

    /// Returns true once a line satisfying `matches` has been logged; false at `timeout` (a
    /// fail-safe against hanging, not a pause).
    public func waitFor(timeout: Duration = .seconds(300), _ matches: @escaping @Sendable (String) -> Bool) async -> Bool {
        let found: @Sendable () -> Bool = { [handler] in handler.entries.contains { matches("\($0.message)") } }
        await arrivals.wait(until: { _ in found() }, limit: timeout)
        return found()
    }

    /// Hands each line to the in-memory handler, then wakes the waiters.
    private struct Announcing: LogHandler {
        var inner: InMemoryLogHandler
        let arrivals: WatchedText

        var metadata: Logger.Metadata {
            get { inner.metadata }
            set { inner.metadata = newValue }
        }
        var logLevel: Logger.Level {
            get { inner.logLevel }
            set { inner.logLevel = newValue }
        }
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { inner[metadataKey: key] }
            set { inner[metadataKey: key] = newValue }
        }

        func log(event: LogEvent) {
            inner.log(event: event)
            arrivals.append("\n")
        }
    }
}
