import Synchronization

/// Text that grows as a process or a logger writes it, and that a test awaits: `wait` returns
/// as soon as an append (or the end) makes its condition true, woken by the append itself.
/// Its time limit is a fail-safe that makes a test fail, naming what it waited for, instead of
/// hanging; it never decides a passing outcome.
final class WatchedText: Sendable {
    private struct State {
        var text = ""
        var ended = false
        var waiters: [Int: (condition: @Sendable (String) -> Bool, waiter: CheckedContinuation<Void, Never>)] = [:]
        var nextID = 0
        /// Waiters whose time limit passed before they were registered.
        var expired: Set<Int> = []

        /// Takes the waiters whose condition now holds (all of them once the text has ended).
        mutating func ready() -> [CheckedContinuation<Void, Never>] {
            let ready = waiters.filter { ended || $0.value.condition(text) }
            for id in ready.keys { waiters.removeValue(forKey: id) }
            return ready.values.map(\.waiter)
        }
    }
    private let state = Mutex(State())

    var text: String { state.withLock(\.text) }
    var ended: Bool { state.withLock(\.ended) }

    func append(_ more: String) {
        let ready = state.withLock { state in
            state.text += more
            return state.ready()
        }
        for waiter in ready { waiter.resume() }
    }

    /// No more text will come (the process exited): every waiter returns.
    func end() {
        let ready = state.withLock { state in
            state.ended = true
            return state.ready()
        }
        for waiter in ready { waiter.resume() }
    }

    /// Returns once `condition` holds of the text, the text has ended, or `limit` has passed;
    /// the caller checks which.
    func wait(until condition: @escaping @Sendable (String) -> Bool, limit: Duration) async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let failSafe = Task { [self] in
            try? await Task.sleep(for: limit)
            if !Task.isCancelled { release(id) }
        }
        defer { failSafe.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let now: Bool = state.withLock { state in
                    if state.ended || condition(state.text) || Task.isCancelled || state.expired.remove(id) != nil { return true }
                    state.waiters[id] = (condition, waiter)
                    return false
                }
                if now { waiter.resume() }
            }
        } onCancel: {
            release(id)
        }
    }

    /// Wakes waiter `id` (its limit passed, or its task was cancelled); one not registered yet
    /// returns as soon as it would be.
    private func release(_ id: Int) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard let entry = state.waiters.removeValue(forKey: id) else {
                state.expired.insert(id)
                return nil
            }
            return entry.waiter
        }
        waiter?.resume()
    }
}
