import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A request to stop, as a service manager (SIGTERM) or Ctrl-C (SIGINT) sends it.
public struct StopRequest: Sendable, Equatable, CustomStringConvertible {
    /// The signal's number.
    public let signal: Int32

    /// A request made by `signal` (SIGTERM, SIGINT).
    public init(signal: Int32) { self.signal = signal }

    /// Its name for a log line: `SIGTERM`, `SIGINT`, or `signal N`.
    public var description: String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        default: "signal \(signal)"
        }
    }
}

/// How `runUntilStopped` ended.
public enum StopOutcome<Value: Sendable>: Sendable {
    /// The work ended by itself, with its value.
    case finished(Value)
    /// The process was asked to stop and the work was cancelled. `settled`: the work ended
    /// within the grace period; false: it was left unfinished (the grace period passed, or a
    /// second request came).
    case stopped(StopRequest, settled: Bool)
}

/// Runs `work` until it ends, or until the process is asked to stop with SIGTERM or SIGINT:
/// then calls `onStop` at once (for the log line saying so), cancels `work` (its servers close,
/// its calls end) and waits for it to end, at most `grace`; a second request ends the wait
/// at once. Whatever `work` throws once it is cancelled is part of stopping, not an error, so
/// a process asked to stop ends with status 0.
///
/// Once it is called, SIGTERM and SIGINT no longer end the process by their default action:
/// Dispatch signal sources hear them, registered before `work` starts (and once it returns,
/// nothing does). Call it once per process, around what the process is for.
/// - Throws: what `work` throws when the process was not asked to stop; `CancellationError`
///   when the calling task is cancelled first.
public func runUntilStopped<Value: Sendable>(
    grace: Duration = .seconds(30), onStop: @escaping @Sendable (StopRequest) async -> Void = { _ in },
    _ work: @escaping @Sendable () async throws -> Value
) async throws -> StopOutcome<Value> {
    let (events, sink) = AsyncStream.makeStream(of: StopEvent<Value>.self)
    let listener = await SignalListener([SIGTERM, SIGINT]) { sink.yield(.asked(StopRequest(signal: $0))) }
    defer { listener.cancel() }
    let running = Task {
        do {
            let value = try await work()
            sink.yield(.ended(.success(value)))
        } catch {
            sink.yield(.ended(.failure(error)))
        }
    }
    return try await withTaskCancellationHandler {
        var request: StopRequest?
        var graceTimer: Task<Void, Never>?
        defer { graceTimer?.cancel() }
        for await event in events {
            switch event {
            case .ended(let result):
                if let request { return .stopped(request, settled: true) }
                return .finished(try result.get())
            case .asked(let asked):
                if let request { return .stopped(request, settled: false) }
                request = asked
                await onStop(asked)
                running.cancel()
                graceTimer = Task {
                    try? await Task.sleep(for: grace)
                    if !Task.isCancelled { sink.yield(.graceOver) }
                }
            case .graceOver:
                if let request { return .stopped(request, settled: false) }
            }
        }
        // The stream ends only when the calling task is cancelled.
        throw CancellationError()
    } onCancel: {
        running.cancel()
    }
}

/// What `runUntilStopped` waits for, in the order it happens.
private enum StopEvent<Value: Sendable>: Sendable {
    case ended(Result<Value, any Error>)
    case asked(StopRequest)
    case graceOver
}

/// Dispatch signal sources for some signals, each calling `handler` with its signal number,
/// from the moment `init` returns (every source registered) until `cancel`.
private final class SignalListener {
    private let sources: [any DispatchSourceSignal]

    init(_ signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) async {
        var sources: [any DispatchSourceSignal] = []
        for number in signals {
            // Ignored until its source is registered, rather than ending the process. On Linux,
            // registering installs Dispatch's own handler in place of this (its signalfd then
            // hears the signal); on Darwin, kqueue hears an ignored signal.
            _ = signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            await withCheckedContinuation { (registered: CheckedContinuation<Void, Never>) in
                source.setRegistrationHandler { registered.resume() }
                source.resume()
            }
            sources.append(source)
        }
        self.sources = sources
    }

    /// Stops listening. The signals stay caught by Dispatch, unheard, until the process ends;
    /// Dispatch installs its catcher once per process, so a second listener would hear nothing.
    func cancel() {
        for source in sources { source.cancel() }
    }
}
