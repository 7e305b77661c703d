import FedAttnCore
public import FedAttnModel
import FedAttnSecAgg
import Foundation

/// What a participant says as it works, for a terminal or a log. Never carries silo data.
public enum ParticipantEvent: Sendable {
    case joined(JoinInfo)
    case training(round: Int, examples: Int)
    /// Local training progress within a round.
    case progress(round: Int, epoch: Int, epochs: Int, examplesDone: Int)
    case uploaded(round: Int, bytes: Int, loss: Double, seconds: Double, secure: Bool = false)
    /// A secure round's plan arrived with the training task (`attempt` above 1: the round was retried).
    case secureRound(round: Int, attempt: Int, clients: Int, neighbours: Int, threshold: Int)
    /// With secure aggregation: an answer to one of the round's secure phases was sent.
    case secured(round: Int, phase: SecurePhase, bytes: Int)
    /// With example-level DP-SGD: the epsilon this silo has spent so far, by its own ledger.
    case privacySpent(round: Int, epsilon: Double, delta: Double)
    /// The round's model was evaluated on this silo's test split and the report sent;
    /// `testAUC` is this silo's own (nil when its test split holds clicks only, or none), and
    /// `localTestAUC` that of the model this silo trained for the round before averaging (nil
    /// when it did not train it, or its split allows no AUC): whether federating helps it.
    case evaluated(round: Int, examples: Int, testAUC: Double?, localTestAUC: Double? = nil)
    /// The coordinator no longer wanted this update or evaluation (it arrived after its round
    /// closed, or the coordinator restarted meanwhile); the client carries on with its next task.
    case dropped(round: Int, reason: String)
    /// What became of the silo's item counts for the most-popular baseline (shared, pooled or
    /// not, declined, refused), in words.
    case popularity(String)
    /// The most-popular baseline, by the federation's pooled counts, scored on this silo's test
    /// users and sent with its evaluation of `round`.
    case popularityScored(round: Int, sums: RankingSums)
    /// Nothing to do yet (the coordinator answered WAIT): the client is alive and connected.
    case waiting
    /// The kept model (`LocalWork.keep`) was downloaded and handed to the work; nil: the
    /// work wanted it, but the federation kept no round (no silo had a validation split).
    case keptModel(version: String?)
    case done
}

/// A federation's client: joins, then does what the coordinator asks until it says done.
/// It speaks the protocol (long poll, download, upload, report, join again after a
/// coordinator restart, drop what the coordinator no longer wants); what it computes and
/// sends is its `LocalWork`'s (a silo's training, or a load generator's prepared answers).
public struct Participant: Sendable {
    public let work: any LocalWork
    /// Seeds the draws of secure rounds (indicator values, stochastic rounding) when set, per
    /// round; nil (the default): fresh system randomness each round. Tests fix it: a row two
    /// silos touch reads as untouched when their random indicator values cancel (1 in 65,535).
    /// (Package-only: a fixed or guessable seed would let the coordinator tell, from the
    /// unmasked sum, which silos touched a row.)
    package let secureDrawSeed: UInt64?

    public init(work: any LocalWork) {
        self.init(work: work, secureDrawSeed: nil)
    }

    package init(work: any LocalWork, secureDrawSeed: UInt64?) {
        self.work = work
        self.secureDrawSeed = secureDrawSeed
    }

    /// A silo's participant: trains on `train` and evaluates on `test` with `threads` threads,
    /// within what its `privacy` ledger allows.
    public init(
        train: ExampleSet, validation: ExampleSet = ExampleSet(), test: ExampleSet, ranking: RankingSet = RankingSet(), threads: Int = 1,
        privacy: SiloPrivacyLedger? = nil
    ) {
        self.init(work: SiloWork(train: train, validation: validation, test: test, ranking: ranking, threads: threads, privacy: privacy))
    }

    /// Runs until the federation is done. `expectedModel` is the configuration the silo's
    /// data was read with; a coordinator with another one is refused before any training.
    /// - Throws: `ParticipantError.modelMismatch`; the link's errors other than a stale or
    ///   not-joined refusal of an upload or report (those are reported as `.dropped`).
    public func run(
        link: any FederationLink, expectedModel: ModelConfig, events: @escaping @Sendable (ParticipantEvent) -> Void = { _ in }
    ) async throws {
        let work = self.work
        /// Shares the silo's item counts (or declines) when the federation pools them: once
        /// after each Join (the coordinator takes a silo's first answer). A refusal is said and
        /// the silo carries on without the baseline.
        func sharePopularity(_ info: JoinInfo) async throws {
            if info.popularity == .secureSum {
                // Protocol 11 under secure aggregation: the counts go, masked, into the indicator
                // sum of the first secure round that carries them; a decline is said now, in the
                // clear, before any task (the coordinator checks the sum's shared flags by it).
                guard work.secureSumCounts(for: info.model) == nil else {
                    events(
                        .popularity(
                            "item counts to be summed securely with the other silos' in a secure round's indicator sum (the coordinator sees only the sum)"
                        ))
                    return
                }
                do {
                    let answer = try await link.sharePopularity(nil)
                    events(
                        .popularity("item counts not shared: this silo adds zeros (and a shared flag of 0) to the secure sum of counts: \(answer)"))
                } catch let error as CoordinatorError where error.kind == .invalidRequest || error.kind == .notJoined || error.kind == .stale {
                    events(.popularity("item counts not shared; the decline was not taken: \(error.message)"))
                }
                return
            }
            guard info.popularity == .on else { return }
            var counts = work.popularityCounts(for: info.model)
            var note = ""
            if let shared = counts, shared.count > info.limits.maxPopularityItems {
                counts = nil
                note = " (its \(shared.count) items are more than the \(info.limits.maxPopularityItems) a share may name)"
            }
            do {
                let answer = try await link.sharePopularity(counts)
                events(.popularity((counts == nil ? "item counts not shared\(note): " : "item counts shared: ") + answer))
            } catch let error as CoordinatorError where error.kind == .invalidRequest || error.kind == .notJoined || error.kind == .stale {
                events(.popularity("item counts not taken: \(error.message); carrying on without the most-popular baseline"))
            }
        }
        func join() async throws -> JoinInfo {
            var accepted: (info: JoinInfo, version: UInt32)?
            var newest: CoordinatorError?
            // An older coordinator (release 0.2 speaks 10 and 9, 0.1.0 speaks 9 only): this
            // client speaks those too, which differ only in the most-popular baseline (10: no
            // secure sum of the counts; 9: no counts at all). Any other refusal stands.
            for version in [Coordinator.protocolVersion] + Coordinator.olderClientProtocols {
                do {
                    let answer = try await link.join(protocolVersion: version, trainExamples: work.trainExamples)
                    accepted = (answer, version)
                    break
                } catch let refused as CoordinatorError where refused.kind == .protocolMismatch {
                    newest = newest ?? refused
                }
            }
            guard let joined = accepted else { throw newest ?? CoordinatorError.protocolRefused("no wire protocol this client speaks") }
            let (info, version) = (joined.info, joined.version)
            if version < Coordinator.protocolVersion {
                let what =
                    version < Coordinator.popularityProtocol
                    ? "; this silo shares no item counts and gets no most-popular baseline"
                    : info.popularity == .offSecureAggregation ? "; under secure aggregation this silo's item counts are not summed" : ""
                events(.popularity("the coordinator speaks an older wire protocol (\(version)): joined with it\(what)"))
            }
            guard info.model == expectedModel else { throw ParticipantError.modelMismatch(coordinator: info.model, local: expectedModel) }
            events(.joined(info))
            try await sharePopularity(info)
            return info
        }
        let info = try await join()
        /// Under the secure sum (protocol 11): the counts this silo puts in an indicator sum that
        /// carries them (nil: it declines, and scores no baseline it is handed).
        let secureCounts = info.popularity == .secureSum ? work.secureSumCounts(for: info.model) : nil
        var cached: GlobalModel?
        var lastRound = 0
        /// The AUC of the model this client last trained, before averaging, by round.
        var localTestAUC: (round: Int, auc: Double?) = (0, nil)
        /// The secure round this client takes part in (secure aggregation), from training to unmasking.
        var session: SecureSession?
        /// Whether its counts were in an indicator sum it helped unmask: then never again (a
        /// second sum over other silos would subtract into this silo's counts).
        var countsSummed = false
        /// The model `version`: a delta from what the work holds when the coordinator has one.
        func model(_ version: String, whole: Bool = false) async throws -> GlobalModel {
            if let cached, cached.version == version, !whole { return cached }
            let downloaded = try await link.downloadModel(version: version, base: whole ? nil : work.heldVersion)
            let global = GlobalModel(version: version, payload: downloaded.bytes, deltaFrom: downloaded.deltaFrom, config: info.model)
            cached = global
            return global
        }
        /// `body` on the model `version`; if a delta download does not give that version (the
        /// work held another, it does not decode, or it does not check out), once more on the
        /// whole model.
        func withModel<T>(_ version: String, _ body: (GlobalModel) async throws -> T) async throws -> T {
            let global = try await model(version)
            guard global.deltaFrom != nil else { return try await body(global) }
            do {
                return try await body(global)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                return try await body(try await model(version, whole: true))
            }
        }
        /// Does one task; true when the federation is done.
        func perform(_ task: FederationTask) async throws -> Bool {
            switch task {
            case .train(let round, let version, let plan):
                events(.training(round: round, examples: work.trainExamples))
                if let secure = plan.secure {
                    events(
                        .secureRound(
                            round: round, attempt: secure.attempt, clients: secure.clients, neighbours: secure.neighbours.count,
                            threshold: secure.threshold))
                }
                let update = try await withModel(version) { global in
                    try await work.train(from: global, plan: plan, round: round) { epoch, done in
                        events(.progress(round: round, epoch: epoch, epochs: plan.epochs, examplesDone: done))
                    }
                }
                localTestAUC = (round, update.localTestAUC)
                if let plan = plan.secure {
                    // Not uploaded: summed with the others' through the secure phases.
                    session = nil
                    let secured: SecureSession
                    do {
                        secured = try SecureSession(
                            round: round, plan: plan, update: update.delta(model: info.model), popularity: countsSummed ? nil : secureCounts,
                            draws: secureDrawSeed.map { SeededGenerator(seed: $0 &+ UInt64(round) &* 7_919 &+ UInt64(plan.attempt)) }
                                ?? .fromSystemRandom())
                    } catch let error as SecAggError {
                        events(.dropped(round: round, reason: "\(error)"))
                        let task = SecureTask(round: round, attempt: plan.attempt, phase: .advertise)
                        try await Self.droppingIfUnwanted(round, { _ in }) {
                            try await link.sendSecure(SecureSession.abort(task, because: "\(error)"))
                        }
                        return false
                    }
                    let reply = secured.advertise(
                        baseVersion: version, examples: update.examples, trainSeconds: update.privacySpent == nil ? update.trainSeconds : 0)
                    try await Self.droppingIfUnwanted(round, events) {
                        try await link.sendSecure(reply)
                        session = secured
                        events(
                            .uploaded(round: round, bytes: reply.approximateBytes, loss: update.meanLoss, seconds: update.trainSeconds, secure: true))
                        if let spent = update.privacySpent { events(.privacySpent(round: round, epsilon: spent.epsilon, delta: spent.delta)) }
                    }
                    lastRound = round
                    return false
                }
                let payload = try update.payload()
                try await Self.droppingIfUnwanted(round, events) {
                    _ = try await link.uploadUpdate(
                        round: round, baseVersion: version, examples: update.examples,
                        // Under DP-SGD the seconds would tell how large the Poisson samples were: not sent.
                        trainSeconds: update.privacySpent == nil ? update.trainSeconds : 0, payload: payload)
                    events(.uploaded(round: round, bytes: payload.count, loss: update.meanLoss, seconds: update.trainSeconds))
                    if let spent = update.privacySpent { events(.privacySpent(round: round, epsilon: spent.epsilon, delta: spent.delta)) }
                }
                lastRound = round
            case .evaluate(let round, let version, let pooled):
                var report = try await withModel(version) { try await work.evaluate($0) }
                // The most-popular baseline, while the coordinator hands its pooled counts (under
                // the secure sum it hands them to silos that declined too: they do not score).
                if let pooled, info.popularity != .secureSum || secureCounts != nil {
                    report.popularity = try await work.scorePopularity(pooled, model: info.model)
                }
                try await Self.droppingIfUnwanted(round, events) {
                    try await link.reportEvaluation(round: round, version: version, report: report)
                    events(
                        .evaluated(
                            round: round, examples: report.test.examples, testAUC: report.test.auc,
                            localTestAUC: localTestAUC.round == round ? localTestAUC.auc : nil))
                    if let sums = report.popularity { events(.popularityScored(round: round, sums: sums)) }
                }
            case .secure(let task):
                do {
                    guard var current = session, current.round == task.round, current.plan.attempt == task.attempt else {
                        throw SecAggError.protocolViolation("no secure session for round \(task.round) attempt \(task.attempt)")
                    }
                    let reply = try current.answer(task)
                    session = current
                    if task.phase == .unmaskIndicators, current.sentCounts { countsSummed = true }
                    try await Self.droppingIfUnwanted(task.round, events) {
                        try await link.sendSecure(reply)
                        events(.secured(round: task.round, phase: task.phase, bytes: reply.approximateBytes))
                    }
                } catch let error as SecAggError {
                    // This client cannot go on in this round: it says so, and the round goes on without it.
                    session = nil
                    events(.dropped(round: task.round, reason: "\(error)"))
                    try await Self.droppingIfUnwanted(task.round, { _ in }) {
                        try await link.sendSecure(SecureSession.abort(task, because: "\(error)"))
                    }
                }
            case .wait(let retryAfter):
                events(.waiting)
                try await Task.sleep(for: retryAfter)
            case .done(let kept):
                if work.keepsModel {
                    if let kept { try await withModel(kept) { try await work.keep($0) } }
                    events(.keptModel(version: kept))
                }
                events(.done)
                return true
            }
            return false
        }
        while true {
            let task: FederationTask
            do {
                task = try await link.nextTask(lastRound: lastRound)
            } catch let error as CoordinatorError where error.kind == .notJoined {
                // The coordinator restarted and no longer knows this silo: join again.
                _ = try await join()
                continue
            }
            do {
                if try await perform(task) { return }
            } catch let error as CoordinatorError where error.kind == .stale {
                // The model was replaced before this client fetched it: the task is stale.
                events(.dropped(round: task.round ?? lastRound, reason: error.message))
            }
        }
    }

    /// Runs `send`; a refusal as stale (the round closed) or as not joined (the coordinator
    /// restarted) is reported and dropped: the client goes on with its next task (joining
    /// again first when it must). Anything else is thrown.
    static func droppingIfUnwanted(_ round: Int, _ events: (ParticipantEvent) -> Void, _ send: () async throws -> Void) async throws {
        do {
            try await send()
        } catch let error as CoordinatorError where error.kind == .stale || error.kind == .notJoined {
            events(.dropped(round: round, reason: error.message))
        }
    }
}

public enum ParticipantError: Error, CustomStringConvertible {
    case modelMismatch(coordinator: ModelConfig, local: ModelConfig)

    public var description: String {
        switch self {
        case .modelMismatch(let coordinator, let local):
            "the coordinator trains a model with items \(coordinator.items), \(coordinator.strategies) strategies, d=\(coordinator.dim); "
                + "this silo's data was read for items \(local.items), \(local.strategies) strategies, d=\(local.dim)"
        }
    }
}
