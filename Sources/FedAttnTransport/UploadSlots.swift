/// How many uploads the coordinator reads at once, and whose turn it is. A client reserves a
/// slot before sending a byte (so that clients waiting their turn cost no memory: the
/// transport would otherwise buffer the start of each waiting upload), then uploads; the slot
/// is released when its upload ends, or lapses if no upload claims it in time. A client
/// holds at most one slot.
actor UploadSlots {
    private enum Hold {
        case reserved(until: ContinuousClock.Instant)
        case reading
    }
    private struct Waiter {
        let id: Int
        let client: String
        let continuation: CheckedContinuation<Bool, Never>
    }

    private let capacity: Int
    private let lapse: Duration
    private var holders: [String: Hold] = [:]
    private var waiters: [Waiter] = []
    private var nextID = 0

    init(capacity: Int, lapse: Duration = .seconds(10)) {
        precondition(capacity >= 1, "Uploads need at least one slot.")
        self.capacity = capacity
        self.lapse = lapse
    }

    /// Gives `client` a slot, waiting up to `limit` for one to free; false if none did.
    func reserve(_ client: String, waiting limit: Duration) async -> Bool {
        if holders[client] != nil { return true }
        if holders.count < capacity {
            grant(client)
            return true
        }
        guard limit > .zero else { return false }
        let id = nextID
        nextID += 1
        Task { [self] in
            try? await Task.sleep(for: limit)
            giveUp(id)
        }
        return await withCheckedContinuation { waiters.append(Waiter(id: id, client: client, continuation: $0)) }
    }

    /// Marks `client`'s slot as read from, waiting for one first if it reserved none; false
    /// when an upload of `client`'s is already being read (one at a time per client, or one
    /// client's parallel streams could share a slot and hold many updates at once).
    func claim(_ client: String) async -> Bool {
        if case .reading = holders[client] { return false }
        while await !reserve(client, waiting: .seconds(60)) {}
        if case .reading = holders[client] { return false }
        holders[client] = .reading
        return true
    }

    /// Frees `client`'s slot for the next in line.
    func release(_ client: String) {
        holders[client] = nil
        grantWaiting()
    }

    private func grant(_ client: String) {
        let until = ContinuousClock.now + lapse
        holders[client] = .reserved(until: until)
        Task { [self, lapse] in
            try? await Task.sleep(for: lapse)
            self.lapseIfUnclaimed(client, reservedUntil: until)
        }
    }

    private func lapseIfUnclaimed(_ client: String, reservedUntil: ContinuousClock.Instant) {
        guard case .reserved(let until) = holders[client], until == reservedUntil else { return }
        release(client)
    }

    private func grantWaiting() {
        while holders.count < capacity, !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            if holders[waiter.client] == nil { grant(waiter.client) }
            waiter.continuation.resume(returning: true)
        }
    }

    private func giveUp(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(returning: false)
    }
}
