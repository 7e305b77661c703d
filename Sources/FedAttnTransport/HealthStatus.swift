import Synchronization

/// Whether the coordinator serves, as the gRPC health service (`grpc.health.v1.Health`, on the
/// gRPC port) answers it: set by whoever knows (`ServingReadiness.health` in `serve`: serving
/// once the gRPC server listens, not once the process is asked to stop), read by each Check,
/// and followed by each Watch, which hears every change. Set and read from any thread.
///
/// The server it is given to (`withCoordinatorServer(health:)`) ends it as it stops: it is
/// NOT_SERVING from then on and every Watch call ends, after it heard so. One status serves
/// one server.
public final class HealthStatus: Sendable {
    /// What the health protocol says of a service the coordinator runs.
    public enum Serving: Sendable, Equatable {
        /// SERVING: it takes calls.
        case serving
        /// NOT_SERVING: it does not, or not for long (the process is stopping).
        case notServing
    }

    private struct State {
        var current: Serving
        /// Set once the server stopped: nothing changes after it.
        var ended = false
        /// Each watcher's stream, by the number it was given.
        var watchers: [Int: AsyncStream<Serving>.Continuation] = [:]
        var nextID = 0
    }
    private let state: Mutex<State>
    /// The most Watch calls followed at once (`changesIfRoom`): each holds a stream and a
    /// task, and any certificate of the federation may open them.
    public let maxWatchers: Int

    /// A status that starts as `initial`, followed by at most `maxWatchers` Watch calls at once.
    public init(_ initial: Serving = .serving, maxWatchers: Int = 256) {
        state = Mutex(State(current: initial))
        self.maxWatchers = max(1, maxWatchers)
    }

    /// `changes()` for a Watch call, or nil when `maxWatchers` are following already.
    package func changesIfRoom() -> AsyncStream<Serving>? { stream(limit: maxWatchers) }

    /// The status now.
    public var current: Serving { state.withLock(\.current) }

    /// Sets the status; every watcher hears it when it changed. Ignored once the server ended it.
    public func set(_ serving: Serving) {
        state.withLock { state in
            guard !state.ended, state.current != serving else { return }
            state.current = serving
            // Inside the lock, so that two changes at once reach every watcher in the order
            // they were made (a yield only buffers the value; it calls nothing back).
            for watcher in state.watchers.values { watcher.yield(serving) }
        }
    }

    /// The status now, then each change, until the server ends it (the stream then finishes,
    /// NOT_SERVING last) or the task iterating it is cancelled. A watcher slower than the
    /// changes skips to the latest: the last value it sees is always the status now.
    public func changes() -> AsyncStream<Serving> { stream(limit: nil)! }

    /// A stream of the status and its changes; nil when `limit` watchers follow already.
    private func stream(limit: Int?) -> AsyncStream<Serving>? {
        let (stream, continuation) = AsyncStream.makeStream(of: Serving.self, bufferingPolicy: .bufferingNewest(1))
        let outcome: (admitted: Bool, ended: Bool) = state.withLock { state in
            if let limit, !state.ended, state.watchers.count >= limit { return (false, false) }
            continuation.yield(state.current)
            guard !state.ended else { return (true, true) }
            let id = state.nextID
            state.nextID += 1
            // Set before the stream is handed out: a watcher cancelled at once is forgotten too.
            continuation.onTermination = { [self] _ in forget(id) }
            state.watchers[id] = continuation
            return (true, false)
        }
        guard outcome.admitted else {
            continuation.finish()
            return nil
        }
        if outcome.ended { continuation.finish() }
        return stream
    }

    /// The server stopped: NOT_SERVING from now on, and every watch ends once it has heard so.
    func end() {
        let watchers: [AsyncStream<Serving>.Continuation] = state.withLock { state in
            guard !state.ended else { return [] }
            state.ended = true
            if state.current != .notServing {
                state.current = .notServing
                for watcher in state.watchers.values { watcher.yield(.notServing) }
            }
            let all = Array(state.watchers.values)
            state.watchers = [:]
            return all
        }
        // Outside the lock: finishing calls `onTermination`, which takes it.
        for watcher in watchers { watcher.finish() }
    }

    private func forget(_ id: Int) {
        _ = state.withLock { $0.watchers.removeValue(forKey: id) }
    }
}
