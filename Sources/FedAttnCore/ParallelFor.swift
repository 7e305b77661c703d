import Dispatch

/// Runs `body(0)`, ..., `body(count - 1)` at once on Dispatch's worker threads and returns
/// when all have finished.
///
/// The caller promises that the calls touch disjoint memory (each worker its own slice and
/// its own scratch). That is why this is the one place that vouches for a non-Sendable
/// closure: the compute kernels share raw pointers, which Swift cannot check.
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count == 1 {
        body(0)
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedBox(escapable)
        DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
    }
}

private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
