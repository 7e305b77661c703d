/// Limits how many transfers (uploads read, models sent) run at once, so that memory holds
/// a few payloads however many clients come together; the rest wait (and HTTP/2 flow
/// control holds back their bytes) until a slot frees.
actor AdmissionGate {
    private let capacity: Int
    private var inUse = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(capacity: Int) {
        precondition(capacity >= 1, "A gate needs at least one slot.")
        self.capacity = capacity
    }

    func enter() async {
        if inUse < capacity {
            inUse += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty {
            inUse -= 1
        } else {
            waiting.removeFirst().resume()  // the slot passes straight to the next upload
        }
    }
}

/// Runs `body`, or throws `onTimeout` if it has not finished within `limit`.
func withTimeLimit<T: Sendable>(
    _ limit: Duration, onTimeout: @autoclosure @escaping @Sendable () -> any Error, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw onTimeout()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
