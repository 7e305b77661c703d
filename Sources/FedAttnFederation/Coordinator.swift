import CoreMetrics
public import FedAttnAggregation
import FedAttnCodec
import FedAttnCore
public import FedAttnModel
import FedAttnPrivacy
import FedAttnSecAgg
public import Foundation
public import Logging

/// The coordinator's side of a federation, whatever the transport. The rounds themselves
/// are a pure `RoundStateMachine`; this actor feeds it events (calls from clients, closed
/// connections, the clock, finished I/O) and does what it answers: folds updates into the
/// running sum, aggregates, encodes and stores each new model off the actor, serves model
/// pieces, and wakes the clients waiting in a long poll when their next task changes.
public actor Coordinator {
    /// The wire protocol this coordinator speaks, and its clients send (protocol/fedattn.proto).
    public static let protocolVersion: UInt32 = 10
    /// The versions it admits clients of, newest first: 10, and 9, which has no most-popular
    /// baseline (a client of 9 shares no counts and gets no baseline; nothing else differs).
    public static let protocolVersions: [UInt32] = [10, 9]
    /// The older protocol a client falls back to when a coordinator refuses `protocolVersion`
    /// (a coordinator of release 0.1.0): the same calls but SharePopularity.
    public static let olderClientProtocol: UInt32 = 9

    public nonisolated let modelConfig: ModelConfig
    public nonisolated let config: CoordinatorConfig
    /// The server optimiser and its settings, for logs and reports (e.g. "fedadam eta 0.01 tau 0.0001").
    public nonisolated let strategyName: String
    /// Checks what clients send (updates, evaluations) the same way whatever the transport.
    private nonisolated let admission: Admission
    private var machine: RoundStateMachine
    private var strategy: any Strategy
    private var global: AttentionModel
    /// `global`'s version, kept up to date row by row.
    private var digest: ModelDigest
    /// The versions served and the payloads made of them.
    private var served: ServedVersions
    /// Each client's download under way: its pieces come from one payload.
    private var downloads = Downloads()
    private var accumulator: UpdateAccumulator?
    /// The secure round under way (secure aggregation): keys, shares and masked inputs, in
    /// memory only, dropped once its step is taken.
    private var secure: SecureRound?
    /// With secure aggregation: the item rows some silo has trained so far (only ever grows;
    /// kept in the state folder), so that a round announces only rows new to everyone.
    private var knownRows: RowSet
    /// A new model whose storing failed, kept so it is stored again rather than retrained.
    private var staged: Staged?
    private var records: [RoundRecord] = []
    /// The kept round's model as a whole payload, encoded for the first client that asks
    /// for it at the end (`FederationTask.done`).
    private var keptEncoding: (version: String, task: Task<PayloadFile, any Error>)?
    /// What is yet to be written to the state folder besides models (records, privacy charges,
    /// known rows, the kept round), in order, retried with backoff until it holds.
    private var journal = Journal()
    private var journalRetry: Task<Void, Never>?
    private let store: StateStore?
    private let logger: Logger
    private let metrics = CoordinatorMetrics()
    /// When the round being aggregated closed.
    private var aggregationStarted: ContinuousClock.Instant?
    /// Where payload files are made: the state folder, or the system's temporary folder.
    private let payloadFolder: String
    /// The most-popular baseline: the silos' item counts, pooled, and the sums they send back.
    private var popularity: PopularityPool

    /// What round deadlines are measured in (a test holds it still and moves it on).
    private let clock: any RoundClock
    private var timer: (deadline: Duration, task: Task<Void, Never>)?
    /// Set by `stopping()`: connections closing now are the process ending, not silos leaving.
    private var isStopping = false
    /// Wakes long polls and observers when anything they wait for may have changed.
    private let changes = ChangeSignal()
    /// Times a waiting call was woken (by a change or by its time limit): the long poll's cost.
    public nonisolated var wakeups: Int { changes.wakeups }
    /// Returns once at least `count` calls (long polls, observers) are waiting for a change.
    public nonisolated func waitForWaitingCalls(_ count: Int) async { await changes.waitForWaiters(count) }

    /// A round's new model on its way to being served: encoded once, stored until it holds.
    private struct Staged: Sendable {
        let model: AttentionModel
        let version: String
        /// The step from the version before, exactly as added (nil: not known).
        let delta: (from: String, weights: SparseWeights)?
        /// The server optimiser's state after the round, stored with the model.
        let serverState: SparseWeights?
        var published: ServedVersions.Published?
    }

    /// With a `store`, every version is made durable before any client hears of it, every
    /// round's record is kept, and a coordinator started again on the same store resumes
    /// from the last published version: it loses no published round and repeats none.
    /// `logger` hears one line per join, leave, round, retry (warning) and storage fault (error);
    /// `clock` measures round deadlines (tests pass one they move on by hand).
    public init(
        modelConfig: ModelConfig, config: CoordinatorConfig, initialModel: AttentionModel, strategy: (any Strategy)? = nil,
        store: StateStore? = nil, logger: Logger = Logger(label: "fedattn.coordinator", factory: { _ in SwiftLogNoOpLogHandler() }),
        clock: any RoundClock = WallClock()
    ) throws {
        self.modelConfig = modelConfig
        self.clock = clock
        self.config = config
        admission = Admission(modelConfig: modelConfig, config: config)
        self.store = store
        self.logger = logger
        payloadFolder = store?.folder ?? FileManager.default.temporaryDirectory.path
        if let store { PayloadFile.removeLeftovers(in: store.folder) }
        let resumed = try ResumedState(
            store: store, modelConfig: modelConfig, initialModel: initialModel, strategy: strategy ?? config.server.makeStrategy())
        let (model, strategy) = (resumed.model, resumed.strategy)
        self.strategy = strategy
        records = resumed.records
        knownRows = resumed.knownRows
        popularity = PopularityPool(policy: PopularityPolicy(config), stored: resumed.popularity, minimumSilos: config.popularityMinimumSilos)
        strategyName =
            strategy.name + (config.plan.proximalMu > 0 ? " + FedProx mu \(config.plan.proximalMu)" : "")
            + (config.secureAggregation != nil ? " + secure aggregation (SecAgg+)" : "")
        global = model
        digest = ModelDigest(model.parameters)
        served = ServedVersions(version: digest.version, folder: payloadFolder)
        machine = RoundStateMachine(
            config: config, version: served.current.version, completedRounds: records.count, unevaluated: resumed.unevaluated,
            history: records, privacyCharges: resumed.privacyCharges)
        // Under secure aggregation or differential privacy no counts are pooled: the folder says
        // why from the start, for `history` and the report.
        if let store, popularity.isClosed, resumed.popularity?.status != popularity.status {
            do {
                try store.storePopularityPool(popularity.stored)
            } catch {
                logger.error("the most-popular baseline's status could not be stored: \(error)")
            }
        }
        if let store, let best = machine.selection.bestRound {
            do {
                try store.keepBest(round: best)
            } catch {
                logger.error("round \(best) is the best so far, but best.safetensors could not be linked to it: \(error)")
            }
        }
        // What a resumed folder holds, exported from the start.
        let completed = machine.completedRounds
        metrics.round.record(resumed.unevaluated?.round ?? completed)
        if let last = records.last { metrics.showLastRound(last) }
    }

    // MARK: Calls from clients

    /// Registers a client on `connection` (the peer address over gRPC) with the training
    /// examples it holds (no update of it may claim more); refuses a protocol version not in
    /// `protocolVersions`, and a count of 0 or over `config.maxTrainExamples`. A known client
    /// joining again on a new connection is back. A client of protocol 9 takes part as before,
    /// without the most-popular baseline (logged at its first join).
    public func join(client: String, protocolVersion: UInt32, trainExamples: Int, connection: String = "in-process") throws(CoordinatorError) {
        guard Self.protocolVersions.contains(protocolVersion) else {
            throw .protocolMismatch(client, speaks: protocolVersion, coordinator: Self.protocolVersions)
        }
        guard trainExamples >= 1 else {
            throw .invalidRequest("client '\(client)' declares no training examples: a silo without any cannot take part")
        }
        // Bounded by `maxDeclarableExamples` too, whatever the configuration says: the counts
        // of hundreds of clients are added up, and must not overflow.
        let most = min(config.maxTrainExamples, CoordinatorConfig.maxDeclarableExamples)
        guard trainExamples <= most else {
            throw .invalidRequest(
                "client '\(client)' declares \(trainExamples) training examples, over the coordinator's limit of \(most) (--max-train-examples)"
            )
        }
        try machine.checkJoin(client: client, connection: connection, examples: trainExamples)
        try handle(.joined(client: client, connection: connection, trainExamples: trainExamples))
        warnIfNoiseOutgrowsTheNormBound(client: client, examples: trainExamples)
        let before = popularity.stored
        if let line = popularity.joined(client, protocolVersion: protocolVersion) { logger.notice("\(line)") }
        storePopularityPoolIfChanged(since: before)
    }

    /// Whether this federation pools the silos' item counts for the most-popular baseline, or
    /// why not: what a client is told at Join.
    public nonisolated var popularityPolicy: PopularityPolicy { PopularityPolicy(config) }

    /// Takes `client`'s item counts for the most-popular baseline (nil: it declines, and gets no
    /// baseline), once: a silo's first answer counts, a later one changes nothing.
    /// - Returns: what the client is told, and whether its counts went into the pool (they do
    ///   until the federation's first evaluation begins).
    /// - Throws: `.notJoined`; `.invalidRequest` naming the client and what is wrong (no counts
    ///   pooled here, a client of protocol 9, an item out of order or past the table, a count
    ///   of 0, counts adding up past what it declared at Join, too many items).
    @discardableResult
    public func sharePopularity(client: String, counts: PopularityCounts?) throws(CoordinatorError) -> (pooled: Bool, message: String) {
        guard let declared = machine.declaredExamples(of: client) else { throw .notJoined(client) }
        let before = popularity.stored
        do {
            let answer = try popularity.share(counts, from: client, declared: declared, rows: modelConfig.items.rowCount)
            logger.info("popularity: \(answer.message)")
            storePopularityPoolIfChanged(since: before)
            changes.notify()
            return answer
        } catch {
            logger.warning("\(error.message); it is left out of the most-popular baseline")
            throw error
        }
    }

    /// After the pool closed, a silo declining or a client of protocol 9 joining changes what
    /// the folder says of it: stored again.
    private func storePopularityPoolIfChanged(since before: StoredPopularity) {
        guard popularity.isClosed, popularity.policy == .on else { return }
        let now = popularity.stored
        guard now.declined != before.declined || now.oldProtocol != before.oldProtocol else { return }
        write(.popularityPool(now))
    }

    /// Closes the most-popular baseline's pool as the first evaluation begins, and stores it.
    private func closePopularityPool() {
        guard let line = popularity.close() else { return }
        logger.notice("\(line)")
        write(.popularityPool(popularity.stored))
    }

    /// The most-popular baseline as it stands (for the status page, a simulation, a test).
    public var popularityBaseline: PopularityBaseline { popularity.baseline }

    /// Under example-level DP-SGD every row of an update carries noise: a silo whose noise
    /// alone nears `--max-update-norm` would have every update refused. Said at Join, not
    /// after a round's work.
    private func warnIfNoiseOutgrowsTheNormBound(client: String, examples: Int) {
        // The machine derived the silo's noise multiplier at Join: not derived again here.
        guard let privacy = config.examplePrivacy, let sigma = machine.exampleNoiseMultiplier(of: client) else { return }
        let table = global.parameters.layout.tensors[0].shape
        let norm = privacy.expectedNoiseNorm(examples: examples, plan: config.plan, noiseMultiplier: sigma, tableRows: table[0], width: table[1])
        guard norm > 0.5 * config.maxUpdateNorm else { return }
        logger.warning(
            "\(client): its DP-SGD updates will have a norm of about \(Int(norm.rounded())) from the noise alone (noise multiplier \(sigma), \(table[0]) rows), near or over --max-update-norm \(config.maxUpdateNorm): raise it, or its updates will be refused"
        )
    }

    /// What a client is told of the coordinator's limits at Join; the transport adds what it
    /// decides (piece and chunk sizes, upload slots, the largest message it reads).
    public nonisolated func limits(
        pieceBytes: Int = .max, updateChunkBytes: Int = .max, uploadSlots: Int = 1, maxMessageBytes: Int = .max
    ) -> CoordinatorLimits {
        CoordinatorLimits(
            maxUpdateBytes: config.maxUpdateBytes, maxUpdateNorm: config.maxUpdateNorm, uploadTimeout: config.uploadTimeout, pieceBytes: pieceBytes,
            updateChunkBytes: updateChunkBytes, longPoll: Self.longPoll, maxTrainExamples: config.maxTrainExamples, roundTimeout: config.roundTimeout,
            uploadSlots: uploadSlots, maxPayloadBytes: admission.maxPayloadBytes, maxZstdWindowLog: ZstdFrame.maxWindowLog,
            securePhaseTimeout: config.secureAggregation?.phaseTimeout, maxMessageBytes: maxMessageBytes,
            maxPopularityItems: PopularityPool.maxItems)
    }

    /// How long `nextTask` holds a call while there is nothing to do.
    public static let longPoll: Duration = .seconds(1)

    /// A known client calling on a new connection (its transport reconnected on its own):
    /// it is present again. Does nothing for a client that never joined.
    public func reconnected(client: String, connection: String) {
        guard machine.isMember(client) else { return }
        try? handle(.joined(client: client, connection: connection))
    }

    /// `client`'s connection closed: it leaves selection and the count of connected clients
    /// until it joins again. The close of a connection it no longer uses changes nothing, nor
    /// does any close once the process is `stopping()`.
    public func leave(client: String, connection: String = "in-process") {
        guard !isStopping else { return }
        try? handle(.left(client: client, connection: connection))
    }

    /// The process is about to close every connection and end: their closes are not silos
    /// leaving, so the round under way is neither retried nor shortened for them (a restart
    /// on the state folder trains it again).
    /// Long polls under way end at once (`nextTask` answers WAIT), so that the server's
    /// graceful shutdown has no call to wait for.
    public func stopping() {
        isStopping = true
        changes.notify()
    }

    /// The client's next task. Holds the call up to `longPoll` while there is nothing to do,
    /// waking as soon as the answer changes (a new round, an evaluation, the end).
    public func nextTask(client: String, longPoll: Duration = Coordinator.longPoll) async throws(CoordinatorError) -> FederationTask {
        guard machine.isMember(client) else { throw .notJoined(client) }
        let until = ContinuousClock.now + longPoll
        while true {
            let seen = changes.generation
            let task = machine.task(for: client)
            if case .secure(let step) = task {
                guard let secure else { return .wait(retryAfter: .milliseconds(20)) }
                return .secure(secure.fill(step, for: client))
            }
            if case .done = task { return .done(keptVersion: keptVersion) }
            if case .evaluate(let round, let version, _) = task {
                // The pool closes as the first evaluation begins; a silo that shared gets the
                // pooled counts with its tasks until it has sent the baseline's sums.
                closePopularityPool()
                return .evaluate(round: round, modelVersion: version, popularity: popularity.counts(for: client, round: round))
            }
            if task != .wait(retryAfter: .zero) { return task }
            if ContinuousClock.now >= until || isStopping { return .wait(retryAfter: .milliseconds(20)) }
            await changes.wait(after: seen, until: until)
        }
    }

    /// Up to `maxBytes` of a model version's payload from `offset` (transports send models
    /// piece by piece), counted toward the round's bytes down. A client holding version
    /// `base` gets the delta from it when there is one (`ModelPiece.deltaFrom` says so),
    /// else the whole model. The pieces of one download come from one payload: the piece at
    /// offset 0 begins a download, and a later piece is served only from the payload that
    /// piece came from (`Downloads`). Read off the actor, many at once.
    /// - Throws: `.unknownVersion` (a version not served), `.otherDownload` (a later piece
    ///   of another payload than the download's, or of none begun), `.outOfRange` (past the
    ///   payload's end), `.unavailable` (the payload could not be made or read); each names
    ///   the client.
    public nonisolated func modelPiece(
        version: String, base: String? = nil, offset: Int, maxBytes: Int, for client: String
    ) async throws(CoordinatorError) -> ModelPiece {
        let (payload, range, deltaFrom) = try await pieceRange(version: version, base: base, offset: offset, maxBytes: maxBytes, for: client)
        do {
            return ModelPiece(bytes: try payload.read(range), totalBytes: payload.count, deltaFrom: deltaFrom)
        } catch {
            throw .unavailable("model \(version.prefix(12)) for client '\(client)': \(error)")
        }
    }

    private func pieceRange(
        version: String, base: String?, offset: Int, maxBytes: Int, for client: String
    ) async throws(CoordinatorError) -> (PayloadFile, Range<Int>, String?) {
        // The payload for (version, base); a later piece must be of the one its download began with.
        let (payload, deltaFrom): (PayloadFile, String?)
        if version == served.current.version || served.previous?.version == version && served.previous?.payload(for: base) != nil {
            (payload, deltaFrom) = try await servedPayload(version: version, base: base, for: client)
        } else if version == keptVersion {
            (payload, deltaFrom) = (try await keptModelPayload(version, for: client), nil)
        } else {
            throw .unknownVersion(version, client: client)
        }
        try downloads.piece(for: client, version: version, base: base, offset: offset, of: payload)
        guard offset >= 0, offset <= payload.count else {
            throw .outOfRange("client '\(client)' asks for byte \(offset), past the end of the \(payload.count)-byte model \(version.prefix(12))")
        }
        let end = offset + min(max(maxBytes, 0), payload.count - offset)
        try handle(.downloaded(client: client, bytes: end - offset))
        metrics.bytesDown.increment(by: end - offset)
        return (payload, offset..<end, deltaFrom)
    }

    /// A published version's payload for `client` holding `base`: made already, or awaited
    /// while it is encoded off the actor (later requests wait for the same encoding).
    private func servedPayload(version: String, base: String?, for client: String) async throws(CoordinatorError) -> (PayloadFile, String?) {
        // Aggregated in place and not yet published (staged): the values are the next
        // version's, so the current one can no longer be encoded.
        let answer: ServedVersions.Answer
        do {
            answer = try served.answer(version: version, base: base, weights: global.parameters, canEncode: staged == nil)
        } catch  where error.kind == .unknownVersion {
            throw .unknownVersion(version, client: client)
        }
        switch answer {
        case .ready(let file, let deltaFrom): return (file, deltaFrom)
        case .encoding(let kind, let task, let deltaFrom):
            do {
                let file = try await task.value
                served.finished(kind, of: version, file: file)
                return (file, deltaFrom)
            } catch {
                served.finished(kind, of: version, file: nil)
                throw .unavailable("model \(version.prefix(12)) could not be encoded for client '\(client)': \(error)")
            }
        }
    }

    /// The version of the round kept by validation, once the federation is done (before, the
    /// kept round may still change); nil when none was kept.
    private var keptVersion: String? {
        guard machine.isDone, let round = machine.selection.bestRound else { return nil }
        return records.first { $0.round == round }?.modelVersion
    }

    /// The kept model as a whole float32 payload: read back from the state folder (or the copy
    /// held in memory without one) and encoded once, off the actor; clients that ask meanwhile
    /// wait for the same encoding.
    private func keptModelPayload(_ version: String, for client: String) async throws(CoordinatorError) -> PayloadFile {
        let task: Task<PayloadFile, any Error>
        if let kept = keptEncoding, kept.version == version {
            task = kept.task
        } else {
            guard let round = machine.selection.bestRound else { throw .unknownVersion(version, client: client) }
            let (store, held, folder) = (store, keptModel?.parameters, payloadFolder)
            task = Task.detached {
                let weights: Weights
                if let store, let stored = try store.rounds().first(where: { $0.round == round }) {
                    weights = try store.model(of: stored).parameters
                } else if let held {
                    weights = held
                } else {
                    throw CoordinatorError.unknownVersion(version)
                }
                return try PayloadFile(in: folder) { write in try TensorPayload.encode(weights, precision: .float32, to: write) }
            }
            keptEncoding = (version, task)
        }
        do {
            return try await task.value
        } catch {
            if keptEncoding?.version == version { keptEncoding = nil }  // the next request tries again
            throw .unavailable("the kept model \(version.prefix(12)) could not be read or encoded for client '\(client)': \(error)")
        }
    }

    /// Folds in one client's update for the current round. The payload is decoded and checked
    /// off the actor (many at once, by `Admission`), between two checks that the update is
    /// still wanted (the round may close while it decodes).
    public nonisolated func submitUpdate(
        client: String, round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data
    ) async throws(CoordinatorError) {
        try await checkUpdateWanted(client: client, round: round, baseVersion: baseVersion)
        let delta = try admission.update(payload, from: client, examples: examples, trainSeconds: trainSeconds)
        let arrival = UpdateArrival(
            client: client, round: round, baseVersion: baseVersion, examples: examples, bytes: payload.count, trainSeconds: trainSeconds)
        let update = ClientUpdate(client: client, exampleCount: examples, delta: delta, localSteps: config.localSteps(examples: examples))
        try await fold(update, arrival)
    }

    /// Refuses an update for another round or base version, from a client not selected, or a second one.
    public func checkUpdateWanted(client: String, round: Int, baseVersion: String) throws(CoordinatorError) {
        try machine.checkUpdateWanted(client: client, round: round, baseVersion: baseVersion)
    }

    private func fold(_ update: ClientUpdate, _ arrival: UpdateArrival) throws(CoordinatorError) {
        try handle(.update(arrival), folding: update)  // the round may have closed meanwhile: then refused
        metrics.updates.increment()
        metrics.bytesUp.increment(by: arrival.bytes)
    }

    /// The masked vector `client` may send for `phase` now (its length and its elements' bits),
    /// checked before a byte of it is read; nil for a phase without one.
    public func expectedMasked(client: String, round: Int, attempt: Int, phase: SecurePhase) throws(CoordinatorError) -> (count: Int, bits: Int)? {
        try machine.checkSecureWanted(client: client, round: round, attempt: attempt, phase: phase)
        guard let secure, secure.plan.round == round, secure.plan.attempt == attempt else {
            throw .staleUpdate("\(phase) from '\(client)' for round \(round) attempt \(attempt): not the secure round under way")
        }
        return secure.expectedMasked(phase)
    }

    /// Keeps the rows trained so far (grown by a round's new ones), in the state folder too:
    /// a coordinator restarted with fewer would have silos announce rows again, over another
    /// set of silos, and the two announcements would tell apart the silos between them.
    private func learnRows(_ known: RowSet, round: Int) {
        let new = known.count - knownRows.count
        knownRows = known
        logger.info("round \(round): \(new) item rows trained for the first time; \(known.count) so far")
        guard new > 0 else { return }
        write(.knownRows(known.data, round: round))
    }

    /// Takes one client's answer to a phase of a secure round: checked against what the round
    /// waits for from it (round, attempt, phase) and against the round's graph and sizes, then
    /// kept for the phase's step. `bytes`: its size on the wire.
    public func submitSecure(client: String, reply: SecureReply, bytes: Int) throws(CoordinatorError) {
        try machine.checkSecureWanted(client: client, round: reply.round, attempt: reply.attempt, phase: reply.phase)
        guard let secure, secure.plan.round == reply.round, secure.plan.attempt == reply.attempt else {
            throw .staleUpdate("\(reply.phase) from '\(client)' for round \(reply.round) attempt \(reply.attempt): not the secure round under way")
        }
        var reply = reply
        if let u = reply.unmasking, let id = secure.plan.ids[client] {
            // The wire does not name the sender's id in the round: the caller's identity does.
            reply.unmasking = UnmaskingShares(client: id, selfMaskShares: u.selfMaskShares, maskingKeyShares: u.maskingKeyShares)
        }
        try secure.check(reply, from: client)
        let arrival = SecureArrival(
            client: client, round: reply.round, attempt: reply.attempt, phase: reply.phase, bytes: bytes, baseVersion: reply.baseVersion,
            examples: reply.examples, trainSeconds: reply.trainSeconds, abort: reply.abort)
        try handle(.secure(arrival), secureReply: reply)
        metrics.bytesUp.increment(by: bytes)
        if reply.phase == .advertise && reply.abort == nil { metrics.updates.increment() }
    }

    /// Folds in one client's evaluation of the round's new model. Each summary's example count
    /// must be its histograms' total (a pooled log loss is divided by it), and the ranking
    /// sums must be possible (hits at most the users, the NDCG sum at most the hits).
    public func submitEvaluation(client: String, round: Int, version: String, report: EvaluationReport) throws(CoordinatorError) {
        try admission.evaluation(report, from: client, declared: machine.declaredExamples(of: client))
        try handle(.evaluation(client: client, round: round, version: version, report: report))
        // The most-popular baseline's sums, once a silo: from one given the pooled counts.
        if let sums = report.popularity, popularity.take(sums, from: client) {
            logger.info("round \(round): \(client) scored the most-popular baseline on \(sums.users) users")
            write(.popularitySums(client: client, round: round, sums: sums))
            changes.notify()
        }
    }

    // MARK: State

    /// The rounds finished so far.
    public var history: [RoundRecord] { records }
    /// The model of the round kept (best validation AUC), held in memory when there is no
    /// state folder (with one, it is `best.safetensors`).
    public private(set) var keptModel: AttentionModel?
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

    // MARK: Driving the machine

    private var now: Duration { clock.now }

    /// Hands `event` to the machine and does what it answers; `update` is the payload of an
    /// `.update` event, folded in if the machine accepts it.
    private func handle(_ event: RoundEvent, folding update: ClientUpdate? = nil, secureReply: SecureReply? = nil) throws(CoordinatorError) {
        let generation = machine.generation
        // A secure round's ids, graph and session come from here: the machine draws no randomness.
        // (Not for a model piece served: that starts no round, and runs for every piece.)
        if config.secureAggregation != nil, !event.isDownload { machine.entropy = UInt64.random(in: .min ... .max) }
        let actions = try machine.handle(event, at: now)
        for action in actions { perform(action, update, secureReply) }
        if machine.generation != generation {
            metrics.connected.record(machine.present.count)
            changes.notify()
        }
        scheduleTick()
    }

    private func perform(_ action: RoundAction, _ update: ClientUpdate?, _ secureReply: SecureReply?) {
        switch action {
        case .log(let level, let line): logger.log(level: level, "\(line)")
        case .beginTraining(let round, let selected, let attempt):
            accumulator = UpdateAccumulator(
                layout: global.parameters.layout, tables: [AttentionModel.TensorName.items], keepingUpdates: strategy.needsUpdates,
                weighting: config.server.weighting)
            metrics.selected.record(selected.count)
            metrics.round.record(round)
            if attempt > 1 { metrics.retries.increment() }
        case .chargePrivacy(let charges): write(.privacyCharges(charges))
        case .fold:
            // In place: the actor holds the running sum's only reference (no 4-byte-a-parameter copy).
            if let update { accumulator?.add(update) }
        case .secureBegin(let plan):
            guard let settings = config.secureAggregation else { return }
            secure = SecureRound(plan: plan, layout: global.parameters.layout, settings: settings, known: knownRows)
        case .secureFold(let client):
            do {
                if let secureReply { try secure?.fold(secureReply, from: client) }
            } catch {
                // Checked before the machine took it: a fault here is the coordinator's own.
                logger.error(
                    "round \(secureReply?.round ?? 0): \(client)'s \(secureReply?.phase.description ?? "") answer could not be kept: \(error)")
            }
        case .secureClose(let round, let phase, _):
            do {
                try secure?.close(phase)
                if phase == .unmaskIndicators, let known = secure?.known { learnRows(known, round: round) }
            } catch {
                secure = nil
                try? handle(.secureFailed(round: round, reason: "\(phase): \(error)"))
            }
        case .aggregate(let outcome): aggregate(outcome)
        case .storeAgain(let outcome): storeStaged(outcome)
        case .record(let record):
            metrics.rounds.increment()
            metrics.roundSeconds.recordNanoseconds(Int64(record.seconds * 1e9))
            metrics.showLastRound(record)
            let auc = record.testAUC.map { String(format: "%.4f", $0) } ?? "n/a"
            let retried = record.retries.isEmpty ? "" : "; retried: " + record.retries.joined(separator: "; ")
            let spent =
                (record.epsilon.map { String(format: ", epsilon %.3f per silo (DP-FedAvg)", $0) } ?? "")
                + (record.exampleEpsilon.map { String(format: ", epsilon %.3f (DP-SGD, the most a silo spent)", $0) } ?? "")
            logger.info(
                "\(String(format: "round %d: %d clients, %d examples, test AUC %@, %.2f s", record.round, record.participants.count, record.examples, auc, record.seconds))\(spent)\(retried)"
            )
            records.append(record)
            changes.notify()
            write(.record(record))
        case .keepBest(let round):
            if store == nil { keptModel = global }
            write(.keptRound(round))
        case .finish:
            logger.notice("done: \(machine.completedRounds) rounds")
            changes.notify()
        }
    }

    /// Aggregates on the actor (in-memory arithmetic, the running sum freed at once), then
    /// encodes and stores off it; the machine hears how it went.
    private func aggregate(_ outcome: RoundOutcome) {
        if config.secureAggregation != nil {
            // The round's only "update" is the unmasked sum: the mean step, weighted as all its clients.
            do {
                guard var round = secure.take() else { throw SecAggError.protocolViolation("no secure round under way") }
                let step = try round.step()
                accumulator?.add(
                    ClientUpdate(client: "secure sum of \(outcome.participants.count)", exampleCount: max(outcome.examples, 1), delta: step))
            } catch {
                try? handle(.aggregationFailed(round: outcome.round, reason: "unmasking the values' sum: \(error)"))
                return
            }
        }
        guard let round = accumulator.take() else {
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
    private func aggregated(_ outcome: RoundOutcome, _ step: ModelStep?, model: AttentionModel, strategy: any Strategy, updates: Int) {
        if step != nil {
            global = model
            self.strategy = strategy
        }
        stage(outcome, step, updates: updates)
    }

    /// Makes `global`, just changed by `step`, the staged next version (or fails the round
    /// when the strategy published nothing).
    private func stage(_ outcome: RoundOutcome, _ step: ModelStep?, updates: Int) {
        if step == nil, config.secureAggregation != nil {
            // Not retried: a second sum of the same updates over other silos would tell their difference.
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
    private func storeStaged(_ outcome: RoundOutcome) {
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

    private func serve(_ staged: Staged, _ outcome: RoundOutcome) {
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

    private func storeFailed(_ outcome: RoundOutcome, _ staged: Staged, _ reason: String) {
        self.staged = staged
        metrics.storeFailures.increment()
        try? handle(.storeFailed(round: outcome.round, reason: reason))
    }

    /// Queues `write` in the journal and writes what it can now (nothing without a state folder).
    private func write(_ write: Journal.Write) {
        guard store != nil else { return }
        journal.append(write)
        flushJournal()
    }

    /// Writes the journal's pending writes in order; on a failure, tries again after the
    /// backoff (logged at the first failure of a streak and when it holds again).
    private func flushJournal() {
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

    /// Keeps one timer, for the machine's next deadline.
    private func scheduleTick() {
        let deadline = machine.nextDeadline
        if timer?.deadline == deadline { return }
        timer?.task.cancel()
        timer = nil
        guard let deadline else { return }
        timer = (
            deadline,
            Task { [self, clock] in
                try? await clock.sleep(until: deadline)
                if !Task.isCancelled { self.tick(deadline) }
            }
        )
    }

    private func tick(_ deadline: Duration) {
        if timer?.deadline == deadline { timer = nil }
        try? handle(.tick)
    }
}

extension Optional {
    /// The value, leaving nil behind (so the caller holds its only reference).
    fileprivate mutating func take() -> Wrapped? {
        defer { self = nil }
        return self
    }
}
