import Foundation
import Synchronization

/// What `/readyz` answers: whether the process takes clients now (200) or not (503), and one
/// line saying why, for the operator reading the probe's answer.
public struct Readiness: Sendable, Equatable {
    /// True: answered 200; false: 503.
    public let isReady: Bool
    /// The body's line: where it listens, or what is missing.
    public let reason: String

    public init(isReady: Bool, reason: String) {
        self.isReady = isReady
        self.reason = reason
    }
}

/// A coordinator's readiness as `serve` runs, for `/readyz`: not ready until its gRPC server
/// listens; ready while it listens and its state folder is there and writable; not ready
/// again once it is asked to stop. A federation that is complete stays ready: its
/// coordinator still answers clients (DONE, and the kept model) and says so in the line.
/// Set from the serving task, read by the metrics server's threads. `health` follows the
/// same changes for the gRPC health service.
public final class ServingReadiness: Sendable {
    private struct State: Sendable {
        var address: String?
        var stopping: String?
        var complete: String?
    }
    private let state = Mutex(State())
    /// The state folder, looked at on every answer (a folder removed or made read-only under
    /// a running coordinator makes it not ready).
    public let stateFolder: String

    /// What the gRPC health service answers (`withCoordinatorServer(health:)`): SERVING from
    /// `listening(at:)` until `stopping(_:)`, NOT_SERVING before and after. A federation that
    /// is complete still serves. It does not look at the state folder, as `/readyz` does at
    /// each probe: its watchers hear changes as they are made, and a folder going away is no
    /// event.
    public let health = HealthStatus(.notServing)

    public init(stateFolder: String) { self.stateFolder = stateFolder }

    /// The gRPC server listens at `address` (as the log says it, e.g. `127.0.0.1:7443`).
    public func listening(at address: String) {
        state.withLock { state in
            state.address = address
            // Inside the lock: a stop asked for at the same moment is never overturned.
            if state.stopping == nil { health.set(.serving) }
        }
    }

    /// The process was asked to stop (`why`, e.g. `asked to stop (SIGTERM)`): not ready from now on.
    public func stopping(_ why: String) {
        state.withLock { state in
            state.stopping = why
            health.set(.notServing)
        }
    }

    /// Why the process stops (`stopping(_:)`'s line), for the status page; nil while it does not.
    public var stoppingReason: String? { state.withLock { $0.stopping } }

    /// The federation is complete (`summary`, e.g. `20 rounds, round 14 kept (best.safetensors)`):
    /// still ready, and the line says so.
    public func complete(_ summary: String) { state.withLock { $0.complete = summary } }

    /// The answer now.
    public var readiness: Readiness {
        let now = state.withLock { $0 }
        if let stopping = now.stopping { return Readiness(isReady: false, reason: "not ready: \(stopping)") }
        guard let address = now.address else {
            return Readiness(isReady: false, reason: "not ready: the gRPC server is not listening yet")
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: stateFolder, isDirectory: &isFolder), isFolder.boolValue else {
            return Readiness(isReady: false, reason: "not ready: the state folder \(stateFolder) is gone")
        }
        guard FileManager.default.isWritableFile(atPath: stateFolder) else {
            return Readiness(isReady: false, reason: "not ready: the state folder \(stateFolder) cannot be written")
        }
        let done = now.complete.map { "; the federation is complete (\($0)): serving its kept model" } ?? ""
        return Readiness(isReady: true, reason: "ready: listening on \(address), state folder \(stateFolder)\(done)")
    }
}
