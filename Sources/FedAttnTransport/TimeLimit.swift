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
