public import FedAttnModel

// What observers read and await: the history, the phase, the status page's snapshot.
extension Coordinator {
    // MARK: State

    /// The rounds finished so far.
    public var history: [RoundRecord] { records }
    public var isDone: Bool { machine.isDone }
    /// Rounds published and evaluated so far (with a state folder, since the federation began).
    public var completedRounds: Int { machine.completedRounds }
    /// The round kept by validation so far (`best.safetensors` with a state folder); nil while
    /// no round has a validation figure. Final once `isDone`.
    public var keptRound: Int? { machine.selection.bestRound }
    public var currentModel: AttentionModel { global }
    /// Clients whose connection is open, in join order.
    public var connectedClients: [String] { machine.present }
    /// A round has closed and its model is not yet published: it is being aggregated or
    /// stored, or waits to be stored again. A coordinator asked to stop waits for it to end.
    public var isPublishing: Bool { if case .publishing = machine.phase { true } else { false } }

    /// The live part of the status page (`CoordinatorStatusSource`): the phase, who is
    /// connected, and the history and privacy ledger as they stand (copy-on-write: no record
    /// is copied), so that a page load holds the actor no longer than that; the page itself
    /// is built outside it.
    public var statusSnapshot: CoordinatorSnapshot {
        var snapshot = machine.statusSnapshot(history: records)
        snapshot.popularity = popularity.baseline
        return snapshot
    }

    /// Waits until every round is published and evaluated.
    public func waitUntilDone() async -> [RoundRecord] {
        while !machine.isDone, !Task.isCancelled {
            let seen = changes.generation
            await changes.wait(after: seen)
        }
        return records
    }

    /// Why earlier attempts at the round under way were retried (empty on its first attempt).
    public var retriesOfCurrentRound: [String] { machine.retries }

    /// Waits until `condition` holds of the coordinator, checking it at each change (or until
    /// the task is cancelled).
    public func waitUntil(_ condition: @Sendable (isolated Coordinator) -> Bool) async {
        while !condition(self), !Task.isCancelled {
            let seen = changes.generation
            await changes.wait(after: seen)
        }
    }

    /// Waits until more than `count` rounds are recorded, or the federation is done, and
    /// returns the history then: what a monitor printing rounds, or a test waiting for one, awaits.
    public func history(beyond count: Int) async -> [RoundRecord] {
        while records.count <= count, !machine.isDone, !Task.isCancelled {
            let seen = changes.generation
            await changes.wait(after: seen)
        }
        return records
    }
}
