import CoreMetrics
public import FedAttnAggregation
import FedAttnCodec
import FedAttnCore
public import FedAttnModel
import FedAttnPrivacy
public import Foundation
public import Logging

/// The coordinator's side of a federation, whatever the transport. The rounds themselves
/// are a pure `RoundStateMachine`; this actor feeds it events (calls from clients, closed
/// connections, the clock, finished I/O) and does what it answers: folds updates into the
/// running sum, aggregates, encodes and stores each new model off the actor, serves model
/// pieces, and wakes the clients waiting in a long poll when their next task changes.
public actor Coordinator {
    /// The wire protocol this coordinator speaks, and its clients send (protocol/fedattn.proto).
    public static let protocolVersion: UInt32 = 11
    /// The versions it admits clients of, newest first: 11; 10, which has no secure sum of the
    /// popularity counts (no secure round a client of 10 is in carries counts); and 9, which
    /// has no most-popular baseline (a client of 9 shares no counts and gets no baseline).
    /// Nothing else differs.
    public static let protocolVersions: [UInt32] = [11, 10, 9]
    /// The older protocols a client falls back to, in this order, when a coordinator refuses
    /// `protocolVersion`: 10 (a coordinator of release 0.2), then 9 (release 0.1.0: the same
    /// calls but SharePopularity).
    public static let olderClientProtocols: [UInt32] = [10, 9]
    /// The first protocol with the most-popular baseline (SharePopularity, pooled counts).
    public static let popularityProtocol: UInt32 = 10
    /// The first protocol whose clients put their item counts in a secure round's indicator
    /// sum (`SecureTask.carriesPopularityCounts`).
    public static let secureCountsProtocol: UInt32 = 11

    public nonisolated let modelConfig: ModelConfig
    public nonisolated let config: CoordinatorConfig
    /// The server optimiser and its settings, for logs and reports (e.g. "fedadam eta 0.01 tau 0.0001").
    public nonisolated let strategyName: String
    /// Checks what clients send (updates, evaluations) the same way whatever the transport.
    nonisolated let admission: Admission
    var machine: RoundStateMachine
    var strategy: any Strategy
    var global: AttentionModel
    /// `global`'s version, kept up to date row by row.
    var digest: ModelDigest
    /// The versions served and the payloads made of them.
    var served: ServedVersions
    /// Each client's download under way: its pieces come from one payload.
    var downloads = Downloads()
    /// How updates reach the round's sum: uploaded whole (`PlainSum`) or through the secure
    /// phases (`SecureSum`); it holds the running sum.
    var sum: any RoundSum
    /// A new model whose storing failed, kept so it is stored again rather than retrained.
    var staged: Staged?
    var records: [RoundRecord] = []
    /// The model of the round kept (best validation AUC), held in memory when there is no
    /// state folder (with one, it is `best.safetensors`).
    public internal(set) var keptModel: AttentionModel?
    /// The kept round's model as a whole payload, encoded for the first client that asks
    /// for it at the end (`FederationTask.done`).
    var keptEncoding: (version: String, task: Task<PayloadFile, any Error>)?
    /// What is yet to be written to the state folder besides models (records, privacy charges,
    /// known rows, the kept round), in order, retried with backoff until it holds.
    var journal = Journal()
    var journalRetry: Task<Void, Never>?
    let store: StateStore?
    let logger: Logger
    let metrics = CoordinatorMetrics()
    /// When the round being aggregated closed.
    var aggregationStarted: ContinuousClock.Instant?
    /// Where payload files are made: the state folder, or the system's temporary folder.
    let payloadFolder: String
    /// The most-popular baseline: the silos' item counts, pooled, and the sums they send back.
    var popularity: PopularityPool

    /// What round deadlines are measured in (a test holds it still and moves it on).
    let clock: any RoundClock
    var timer: (deadline: Duration, task: Task<Void, Never>)?
    /// Set by `stopping()`: connections closing now are the process ending, not silos leaving.
    var isStopping = false
    /// Wakes long polls and observers when anything they wait for may have changed.
    let changes = ChangeSignal()
    /// Times a waiting call was woken (by a change or by its time limit): the long poll's cost.
    public nonisolated var wakeups: Int { changes.wakeups }
    /// Returns once at least `count` calls (long polls, observers) are waiting for a change.
    public nonisolated func waitForWaitingCalls(_ count: Int) async { await changes.waitForWaiters(count) }

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
        sum = config.secureAggregation.map { SecureSum(settings: $0, known: resumed.knownRows) } ?? PlainSum()
        popularity = PopularityPool(
            policy: PopularityPolicy(config), stored: resumed.popularity, minimumSilos: config.popularityMinimumSilos,
            itemRows: modelConfig.items.rowCount)
        strategyName =
            strategy.name + (config.plan.proximalMu > 0 ? " + FedProx mu \(config.plan.proximalMu)" : "")
            + sum.label
        global = model
        digest = ModelDigest(model.parameters)
        served = ServedVersions(version: digest.version, folder: payloadFolder)
        machine = RoundStateMachine(
            config: config, version: served.current.version, completedRounds: records.count, unevaluated: resumed.unevaluated,
            history: records, privacyCharges: resumed.privacyCharges)
        // Under differential privacy no counts are pooled; under secure aggregation they are
        // summed in a secure round to come (or never, the model being too large): the folder
        // says so from the start, for `history` and the report.
        let pool = popularity
        if let store, pool.isClosed || pool.policy == .secureSum, resumed.popularity != pool.stored {
            do {
                try store.storePopularityPool(pool.stored)
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
    /// without the most-popular baseline; one of 10 under secure aggregation, without the
    /// secure sum of the counts (each logged at its first join).
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
        // The pool hears the client's protocol first: this Join may start a secure round, which
        // carries the counts only when every client of it speaks protocol 11.
        let before = popularity.stored
        if let line = popularity.joined(client, protocolVersion: protocolVersion) { logger.notice("\(line)") }
        storePopularityPoolIfChanged(since: before)
        try handle(.joined(client: client, connection: connection, trainExamples: trainExamples))
        warnIfNoiseOutgrowsTheNormBound(client: client, examples: trainExamples)
    }

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
                guard let filled = sum.secureTask(step, for: client) else { return .wait(retryAfter: .milliseconds(20)) }
                return .secure(filled)
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

    /// Folds in one client's update for the current round: whether it is wanted is decided
    /// once (`checkUpdateWanted`), then it is decoded and folded (`submitAdmittedUpdate`).
    /// What the in-process link calls; the gRPC transport decides as the header arrives.
    public nonisolated func submitUpdate(
        client: String, round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data
    ) async throws(CoordinatorError) {
        try await checkUpdateWanted(client: client, round: round, baseVersion: baseVersion)
        try await submitAdmittedUpdate(
            client: client, round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
    }

    /// Folds in an update that `checkUpdateWanted` admitted (the gRPC transport admits it as its
    /// header arrives, before a byte of payload is held). The payload is decoded and checked off
    /// the actor (many at once, by `Admission`); the fold then takes it only if the round still
    /// wants it from that client (it may have closed while the payload decoded: `.stale`).
    public nonisolated func submitAdmittedUpdate(
        client: String, round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data
    ) async throws(CoordinatorError) {
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

    // MARK: Driving the machine

    var now: Duration { clock.now }

    /// Hands `event` to the machine and does what it answers; `update` is the payload of an
    /// `.update` event, folded in if the machine accepts it.
    func handle(_ event: RoundEvent, folding update: ClientUpdate? = nil, secureReply: SecureReply? = nil) throws(CoordinatorError) {
        let generation = machine.generation
        if let entropy = sum.entropy(before: event) { machine.entropy = entropy }
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
            sum.begin(layout: global.parameters.layout, keepingUpdates: strategy.needsUpdates, weighting: config.server.weighting)
            metrics.selected.record(selected.count)
            metrics.round.record(round)
            if attempt > 1 { metrics.retries.increment() }
        case .chargePrivacy(let charges): write(.privacyCharges(charges))
        case .fold:
            if let update { sum.fold(update) }
        case .secureBegin(let plan):
            // Its indicator sum carries the silos' item counts until the pool has closed.
            let carries = secureRoundCarriesCounts(plan)
            sum.beginSecure(plan, layout: global.parameters.layout, carriesCounts: carries)
        case .secureFold(let client):
            do {
                if let secureReply { try sum.foldSecure(secureReply, from: client) }
            } catch {
                // Checked before the machine took it: a fault here is the coordinator's own.
                logger.error(
                    "round \(secureReply?.round ?? 0): \(client)'s \(secureReply?.phase.description ?? "") answer could not be kept: \(error)")
            }
        case .secureClose(let round, let phase, _):
            do {
                if let learnt = try sum.closeSecure(phase) {
                    learnRows(learnt.known, new: learnt.new, round: round)
                    if let counts = learnt.counts { poolSecureCounts(counts, round: round) }
                }
            } catch {
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
