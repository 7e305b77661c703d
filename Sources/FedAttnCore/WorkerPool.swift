import Dispatch
import Foundation
import Synchronization

/// Persistent threads for the per-batch parallel loops of training.
///
/// Dispatch wakes its workers too slowly for sub-millisecond jobs (measured here: a 50 us
/// share ran serially under `concurrentPerform`), so these workers spin briefly between
/// jobs, then park on a semaphore. `run` hands out a job in well under a microsecond.
public final class WorkerPool {
    /// Threads that run a job, the caller's own included.
    public let threads: Int
    private let shared: Shared

    public init(threads: Int) {
        precondition(threads >= 1, "A pool needs at least one thread, got \(threads).")
        self.threads = threads
        shared = Shared()
        for worker in 1..<max(threads, 1) {
            let shared = shared
            let thread = Thread { shared.workerLoop(index: worker) }
            thread.name = "fedattn-worker-\(worker)"
            thread.start()
        }
    }

    deinit {
        guard threads > 1 else { return }
        shared.stopping.store(true, ordering: .releasing)
        shared.generation.wrappingAdd(1, ordering: .releasing)
        for _ in 1..<threads { shared.wakeup.signal() }
        for _ in 1..<threads { shared.exited.wait() }
    }

    /// Runs `body(0)` on the calling thread and `body(1)`, ..., `body(threads - 1)` on the
    /// workers, and returns when all have finished. The calls must touch disjoint memory.
    public func run(_ body: (Int) -> Void) {
        guard threads > 1 else {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { job in
            shared.job = job
            shared.pending.store(threads - 1, ordering: .releasing)
            shared.generation.wrappingAdd(1, ordering: .releasing)
            let sleeping = shared.sleepers.exchange(0, ordering: .acquiringAndReleasing)
            for _ in 0..<sleeping { shared.wakeup.signal() }
            job(0)
            while shared.pending.load(ordering: .acquiring) != 0 {}
            shared.job = nil
        }
    }
}

/// The state the caller and the workers share. `job` is written only before a generation
/// is published and cleared only after every worker has reported back; the atomics'
/// release/acquire ordering makes that hand-off safe, which Swift cannot check, hence
/// the unchecked conformance, confined to this file.
private final class Shared: @unchecked Sendable {
    let generation = Atomic<Int>(0)
    let pending = Atomic<Int>(0)
    let sleepers = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    let wakeup = DispatchSemaphore(value: 0)
    let exited = DispatchSemaphore(value: 0)
    var job: ((Int) -> Void)?

    /// How long a worker polls for the next job before it parks. Batches come every
    /// millisecond or so while training, so 5 ms keeps it awake for the whole run, while an
    /// idle pool gives its core back almost at once.
    static let spinLimit = Duration.milliseconds(5)

    func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var spinStart = ContinuousClock.now
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                // Reading the clock costs more than a poll, so look at it now and then.
                if spins % 1024 == 0 && ContinuousClock.now - spinStart > Self.spinLimit {
                    // Announce the sleep, then re-check so a job published meanwhile is not
                    // missed; an extra signal only causes one harmless spurious wake-up.
                    sleepers.wrappingAdd(1, ordering: .acquiringAndReleasing)
                    if generation.load(ordering: .acquiring) == seen { wakeup.wait() }
                    spinStart = ContinuousClock.now
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) {
                exited.signal()
                return
            }
            job!(index)
            pending.wrappingSubtract(1, ordering: .releasing)
        }
    }
}
