import Synchronization

/// Wakes the calls waiting for the coordinator's state to change: long polls (a client's next
/// task) and observers (a monitor printing rounds, a test waiting for one).
///
/// A waiter reads `generation` where it checks its condition and passes it to `wait`, which
/// returns at once if anything changed in between: no change is lost, whatever runs between
/// the check and the wait.
final class ChangeSignal: Sendable {
    private struct State {
        var generation = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Each waiter's time limit, cancelled when it is woken earlier.
        var limits: [Int: Task<Void, Never>] = [:]
        var nextID = 0
        var wakeups = 0
        /// Callers waiting for at least so many waiters (a test making sure a long poll is held).
        var watchers: [(count: Int, waiter: CheckedContinuation<Void, Never>)] = []

        /// Takes the watchers that the waiters now suffice.
        mutating func satisfiedWatchers() -> [CheckedContinuation<Void, Never>] {
            let (ready, rest) = (watchers.filter { $0.count <= waiters.count }, watchers.filter { $0.count > waiters.count })
            watchers = rest
            return ready.map(\.waiter)
        }
    }
    private let state = Mutex(State())

    /// Changes so far; read it together with the condition a waiter checks.
    var generation: Int { state.withLock(\.generation) }

    /// Times a waiting call was woken (by a change or by its time limit): the long poll's cost.
    var wakeups: Int { state.withLock(\.wakeups) }

    /// Suspends until a change after `seen` (a `generation` read before), until `limit`, or
    /// until the task is cancelled.
    func wait(after seen: Int, until limit: ContinuousClock.Instant? = nil) async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let (early, watchers): (Bool, [CheckedContinuation<Void, Never>]) = state.withLock { state in
                    guard state.generation == seen, !Task.isCancelled else { return (true, []) }
                    state.waiters[id] = waiter
                    if let limit {
                        state.limits[id] = Task { [self] in
                            try? await Task.sleep(until: limit, clock: .continuous)
                            if !Task.isCancelled { wake(id) }
                        }
                    }
                    return (false, state.satisfiedWatchers())
                }
                if early { waiter.resume() }
                for watcher in watchers { watcher.resume() }
            }
        } onCancel: {
            wake(id)
        }
    }

    /// Returns once at least `count` calls are waiting for a change.
    func waitForWaiters(_ count: Int) async {
        await withCheckedContinuation { (watcher: CheckedContinuation<Void, Never>) in
            let ready: Bool = state.withLock { state in
                if state.waiters.count >= count { return true }
                state.watchers.append((count, watcher))
                return false
            }
            if ready { watcher.resume() }
        }
    }

    /// Something changed: wakes every waiter.
    func notify() {
        let woken = state.withLock { state in
            state.generation += 1
            let woken = state.waiters
            state.waiters = [:]
            for limit in state.limits.values { limit.cancel() }
            state.limits = [:]
            state.wakeups += woken.count
            return woken
        }
        for waiter in woken.values { waiter.resume() }
    }

    private func wake(_ id: Int) {
        let waiter = state.withLock { state in
            state.limits.removeValue(forKey: id)?.cancel()
            let waiter = state.waiters.removeValue(forKey: id)
            if waiter != nil { state.wakeups += 1 }
            return waiter
        }
        waiter?.resume()
    }
}
