import Synchronization

/// How many lines one source (a peer address) may write to the log per window: a client
/// refused in a loop (NextTask at thousands of calls a second) cannot flood the log or the
/// disk. The lines held back are counted and said in the next line the source may write.
public final class LogBudget: Sendable {
    /// Lines a source may write in one window.
    public let lines: Int
    /// The window's length.
    public let window: Duration
    /// The most sources tracked at once; past it the oldest windows are forgotten.
    public let sources: Int

    private struct Spent {
        var started: ContinuousClock.Instant
        var written = 0
        var held = 0
    }
    private let spent = Mutex<[String: Spent]>([:])

    /// 20 lines every 10 s per source, 10,000 sources tracked, by default.
    public init(lines: Int = 20, window: Duration = .seconds(10), sources: Int = 10_000) {
        self.lines = lines
        self.window = window
        self.sources = sources
    }

    /// Whether `source` may write a line at `now`, and how many of its lines were held back
    /// since it last could (to say in this one). Nil: hold this line back.
    public func allow(_ source: String, at now: ContinuousClock.Instant = .now) -> Int? {
        spent.withLock { spent in
            var entry = spent[source] ?? Spent(started: now)
            if now - entry.started >= window { entry = Spent(started: now, written: 0, held: entry.held) }
            guard entry.written < lines else {
                entry.held += 1
                spent[source] = entry
                return nil
            }
            let held = entry.held
            entry.written += 1
            entry.held = 0
            spent[source] = entry
            if spent.count > sources {
                // Forget the sources whose window ended longest ago (with their held counts).
                let oldest = spent.sorted { $0.value.started < $1.value.started }.prefix(spent.count - sources / 2).map(\.key)
                for key in oldest where key != source { spent.removeValue(forKey: key) }
            }
            return held
        }
    }
}
