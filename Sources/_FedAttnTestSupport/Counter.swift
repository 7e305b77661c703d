import Synchronization

/// A count that concurrent code raises and a test awaits: `reach(_:)` returns when the count
/// gets there (woken by the increment, never by polling).
public final class Counter: Sendable {
    private struct State {
        var value = 0
        var waiters: [(id: Int, target: Int, waiter: CheckedContinuation<Void, Never>)] = []
    }
    private let state = Mutex(State())

    public init() {}

    public var value: Int { state.withLock(\.value) }

    /// Adds one; returns the count after it (so exactly one caller sees each value).
    @discardableResult
    public func increment() -> Int {
        let (value, ready) = state.withLock { state in
            state.value += 1
            let value = state.value
            let ready = state.waiters.filter { $0.target <= value }.map(\.waiter)
            state.waiters.removeAll { $0.target <= value }
            return (value, ready)
        }
        for waiter in ready { waiter.resume() }
        return value
    }

    /// Returns once the count is at least `target`, or when the task is cancelled (a sibling
    /// failed), so that a failing test fails rather than hangs.
    public func reach(_ target: Int) async {
        let id = UUIDish.next()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let ready: Bool = state.withLock { state in
                    if state.value >= target || Task.isCancelled { return true }
                    state.waiters.append((id, target, waiter))
                    return false
                }
                if ready { waiter.resume() }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).waiter
            }
            waiter?.resume()
        }
    }
}

/// Process-unique ids for waiters.
enum UUIDish {
    private static let counter = Mutex(0)
    static func next() -> Int {
        counter.withLock {
            $0 += 1; return $0
        }
    }
}
