import CoreMetrics
import FedAttnAggregation
import FedAttnCodec
import FedAttnCore
import FedAttnModel
import Foundation
import Logging

// From a closed round to a served version: aggregate, stage, encode and store off the actor,
// then publish; and the journal of everything else written to the state folder.
extension Coordinator {
    /// A round's new model on its way to being served: encoded once, stored until it holds.
    struct Staged: Sendable {
        let model: AttentionModel
        let version: String
        /// The step from the version before, exactly as added (nil: not known).
        let delta: (from: String, weights: SparseWeights)?
        /// The server optimiser's state after the round, stored with the model.
        let serverState: SparseWeights?
        var published: ServedVersions.Published?
    }

    /// Aggregates on the actor (in-memory arithmetic, the running sum freed at once), then
    /// encodes and stores off it; the machine hears how it went.
    func aggregate(_ outcome: RoundOutcome) {
        let taken: UpdateAccumulator?
        do {
            taken = try sum.take(outcome)
        } catch {
            try? handle(.aggregationFailed(round: outcome.round, reason: "unmasking the values' sum: \(error)"))
            return
        }
        guard let round = taken else {
            try? handle(.aggregationFailed(round: outcome.round, reason: "aggregation published nothing"))
            return
        }
        aggregationStarted = ContinuousClock.now
        guard strategy.needsUpdates else {
            // In place: the model is not copied (at 4M rows it is 512 MB). Clients download the
            // published payload from its file, so nothing else reads this buffer meanwhile.
            let step = strategy.aggregate(round, into: &global.parameters)
            stage(outcome, step, updates: round.clients.count)
            return
        }
        // A robust rule reads every update (Krum compares every pair): off the actor, so that
        // long polls, model pieces and uploads are answered meanwhile. It works on a copy of
        // the model (copied when first written), so `global` stays the published version.
        let (model, strategy) = (global, self.strategy)
        Task.detached { [self] in
            var (model, strategy) = (model, strategy)
            let step = strategy.aggregate(round, into: &model.parameters)
            await self.aggregated(outcome, step, model: model, strategy: strategy, updates: round.clients.count)
        }
    }

    /// Takes back a model and strategy aggregated off the actor.
    func aggregated(_ outcome: RoundOutcome, _ step: ModelStep?, model: AttentionModel, strategy: any Strategy, updates: Int) {
        if step != nil {
            global = model
            self.strategy = strategy
        }
        stage(outcome, step, updates: updates)
    }

    /// Makes `global`, just changed by `step`, the staged next version (or fails the round
    /// when the strategy published nothing).
    func stage(_ outcome: RoundOutcome, _ step: ModelStep?, updates: Int) {
        if step == nil, !sum.retriesWhenNothingPublished {
            logger.error("round \(outcome.round): \(strategy.name) published nothing from the secure sum; the model stays as it was this round")
            try? handle(.published(round: outcome.round, version: served.current.version))
            return
        }
        guard let step else {
            let why = strategy.needsUpdates ? " (\(strategy.name) needs more updates than the \(updates) it got)" : ""
            try? handle(.aggregationFailed(round: outcome.round, reason: "aggregation published nothing\(why)"))
            return
        }
        // The step added is what a client holding the version before downloads. A whole payload
        // being encoded kept its own reference (the write above copied the model); until the
        // new version is published none can be started (`staged`).
        var delta: (from: String, weights: SparseWeights)?
        if case .added(let added) = step, let rows = added.tensors[0].rows {
            digest.update(global.parameters, changedRows: rows)
            delta = (served.current.version, added)
        } else {
            digest = ModelDigest(global.parameters)
        }
        let model = global
        // Clients still downloading the current version may finish; the one before it goes.
        served.forgetPrevious()
        staged = Staged(
            model: model, version: digest.version, delta: delta, serverState: strategy.savedState(for: model.parameters.layout), published: nil)
        storeStaged(outcome)
    }

    /// Encodes the staged model (once) and makes it durable, off the actor, then serves it.
    /// A failure keeps what was done, for the machine's next attempt.
    func storeStaged(_ outcome: RoundOutcome) {
        guard let staged else { return }
        let (folder, store) = (payloadFolder, store)
        Task.detached { [self] in
            var staged = staged
            do {
                if staged.published == nil {
                    staged.published = try ServedVersions.publish(
                        version: staged.version, delta: staged.delta, layout: staged.model.parameters.layout, in: folder)
                }
                let serverState = try staged.serverState.map { try TensorPayload.encode($0, precision: .float32) }
                try store?.publish(
                    round: outcome.round, version: staged.published!.version, model: staged.model, serverState: serverState,
                    participants: outcome.participants,
                    examples: outcome.examples, bytesUpPerClient: outcome.bytesUpPerClient, trainSecondsMax: outcome.trainSecondsMax,
                    dpSamplingRate: outcome.dpSamplingRate)
                await self.serve(staged, outcome)
            } catch {
                await self.storeFailed(outcome, staged, "\(error)")
            }
        }
    }

    func serve(_ staged: Staged, _ outcome: RoundOutcome) {
        guard let new = staged.published else { return }
        self.staged = nil
        if let started = aggregationStarted {
            metrics.aggregationSeconds.recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
        }
        // Clients still downloading the version before may finish it.
        global = staged.model
        served.publish(new, changedRows: staged.delta?.weights.tensors[0].rows)
        try? handle(.published(round: outcome.round, version: new.version))
    }

    func storeFailed(_ outcome: RoundOutcome, _ staged: Staged, _ reason: String) {
        self.staged = staged
        metrics.storeFailures.increment()
        try? handle(.storeFailed(round: outcome.round, reason: reason))
    }

    /// Queues `write` in the journal and writes what it can now (nothing without a state folder).
    func write(_ write: Journal.Write) {
        guard store != nil else { return }
        journal.append(write)
        flushJournal()
    }

    /// Writes the journal's pending writes in order; on a failure, tries again after the
    /// backoff (logged at the first failure of a streak and when it holds again).
    func flushJournal() {
        guard let store, journalRetry == nil else { return }
        switch journal.flush({ try store.store($0) }) {
        case .stored(let after):
            if after > 0 { logger.notice("the state folder takes writes again, after \(after) failure(s); nothing was lost") }
        case .failed(let what, let error, let failures, let wait):
            metrics.storeFailures.increment()
            if failures == 1 { logger.error("cannot store \(what): \(error); kept, and tried again with backoff") }
            journalRetry = Task { [self, clock] in
                try? await clock.sleep(until: clock.now + wait)
                self.journalRetry = nil
                self.flushJournal()
            }
        }
    }
}
