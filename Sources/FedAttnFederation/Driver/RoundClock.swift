import Synchronization

/// The time a coordinator measures its rounds' deadlines in (round timeouts, secure phases,
/// storage backoff), as time since the coordinator started.
///
/// The coordinator reads the time only through this, so that a test can hold it still and
/// move it on at the event it waits for (a round closes at its deadline when the test says,
/// not when a loaded machine happens to get there).
public protocol RoundClock: Sendable {
    /// Time since the clock started.
    var now: Duration { get }
    /// Returns once `now >= deadline`; throws `CancellationError` when the task is cancelled first.
    func sleep(until deadline: Duration) async throws
}

/// The machine's monotonic clock (`ContinuousClock`), from when it was made.
public struct WallClock: RoundClock {
    private let origin = ContinuousClock.now

    public init() {}

    public var now: Duration { ContinuousClock.now - origin }

    public func sleep(until deadline: Duration) async throws {
        try await Task.sleep(until: origin + deadline, clock: .continuous)
    }
}
