public import FedAttnFederation
import Synchronization

/// A `RoundClock` that stands still until a test moves it: a round closes at its deadline
/// exactly when the test advances past it, after the event the test was waiting for, however
/// loaded the machine is.
public final class ManualClock: RoundClock {
    private struct Sleeper {
        let deadline: Duration
        let waiter: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var now: Duration = .zero
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
    }
    private let state = Mutex(State())

    public init() {}

    public var now: Duration { state.withLock(\.now) }

    /// Deadlines someone sleeps until, earliest first.
    public var pendingDeadlines: [Duration] { state.withLock { $0.sleepers.values.map(\.deadline).sorted() } }

    public func sleep(until deadline: Duration) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                let due: Bool = state.withLock { state in
                    if deadline <= state.now || Task.isCancelled { return true }
                    state.sleepers[id] = Sleeper(deadline: deadline, waiter: waiter)
                    return false
                }
                if due { Task.isCancelled ? waiter.resume(throwing: CancellationError()) : waiter.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.waiter.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock on by `step`, waking every sleeper whose deadline it reaches.
    public func advance(by step: Duration) {
        let due = state.withLock { state in
            state.now += step
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers.removeValue(forKey: id) }
            return due.values.map(\.waiter)
        }
        for waiter in due { waiter.resume() }
    }
}
