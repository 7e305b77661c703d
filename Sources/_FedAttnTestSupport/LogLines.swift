public import InMemoryLogging
public import Logging

/// Log lines a test collects from a `Logger` it hands to the code under test, at every level.
public final class LogLines: Sendable {
    private let handler: InMemoryLogHandler = {
        var handler = InMemoryLogHandler()
        handler.logLevel = .trace
        return handler
    }()

    public init() {}

    /// A logger whose lines this collects.
    public var logger: Logger { Logger(label: "test", factory: { [handler] _ in handler }) }
    /// The messages so far, oldest first.
    public var all: [String] { handler.entries.map { "\($0.message)" } }
}
