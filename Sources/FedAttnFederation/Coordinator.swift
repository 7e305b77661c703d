public import FedAttnAggregation
import FedAttnCodec
public import FedAttnCore
public import FedAttnModel
public import Foundation

/// The coordinator's side of a federation, whatever the transport: who has joined, what
/// each client should do next, and the rounds: select, hand out the model, fold in updates
/// as they arrive, close on all answers or at the timeout with a quorum (or retry), publish
/// the next version, then have it evaluated federatedly.
public actor Coordinator {
    public static let protocolVersion: UInt32 = 3

    public nonisolated let modelConfig: ModelConfig
    public nonisolated let config: CoordinatorConfig
    private var strategy: any Strategy
    private var global: AttentionModel
    private var published: Published
    private var previousVersions: [String: PayloadFile] = [:]
    private var joined: [String: Int] = [:]  // client -> join order
    private var phase: Phase = .waitingForClients
    private var records: [RoundRecord] = []
    private var retries: [String] = []
    private var roundStart = ContinuousClock.now
    private var bytesDown: [String: Int] = [:]
    private let store: StateStore?
    /// Where payload files are made: the state folder, or the system's temporary folder.
    private let payloadFolder: String
    /// A round published before a restart whose evaluation never finished.
    private var unevaluated: StateStore.StoredRound?

    /// A published model: its payload as clients download it, and its version.
    private struct Published {
        let payload: PayloadFile
        let version: String
    }

    private enum Phase {
        case waitingForClients
        case training(Training)
        case evaluating(Evaluation)
        case done
    }

    private struct Training {
        let round: Int
        let selected: Set<String>
        var received: Set<String> = []
        var accumulator: UpdateAccumulator
        var bytesUp = 0
        var trainSecondsMax = 0.0
        let deadline: ContinuousClock.Instant
    }

    private struct Evaluation {
        let round: Int
        let version: String
        let participants: [String]
        let examples: Int
        let bytesUpPerClient: Int
        let trainSecondsMax: Double
        var pending: Set<String>
        var summary = EvaluationSummary()
        var reports = 0
        let deadline: ContinuousClock.Instant
    }

    /// With a `store`, every version is made durable before any client hears of it, every
    /// round's record is kept, and a coordinator started again on the same store resumes
    /// from the last published version: it loses no published round and repeats none.
    public init(
        modelConfig: ModelConfig, config: CoordinatorConfig, initialModel: AttentionModel, strategy: (any Strategy)? = nil,
        store: StateStore? = nil
    ) throws {
        self.modelConfig = modelConfig
        self.config = config
        self.strategy = strategy ?? FedAvg(serverLearningRate: config.serverLearningRate)
        self.store = store
        payloadFolder = store?.folder ?? FileManager.default.temporaryDirectory.path
        if let store { PayloadFile.removeLeftovers(in: store.folder) }
        var model = initialModel
        let stored = try store?.rounds() ?? []
        if let store, let last = stored.last {
            model = try store.model(of: last)
            guard model.config == modelConfig else {
                throw CoordinatorError.invalidUpdate("the state folder holds a model of another configuration (items \(model.config.items))")
            }
            records = stored.compactMap(\.evaluation)
            unevaluated = last.evaluation == nil ? last : nil
        }
        self.global = model
        self.published = try Self.publish(model, in: payloadFolder)
        // Started again on a finished federation: done at once, without waiting for clients
        // that have gone home.
        if unevaluated == nil, records.count >= config.rounds { phase = .done }
    }

    private static func publish(_ model: AttentionModel, in folder: String) throws -> Published {
        let payload = try TensorPayload.encode(model.parameters, precision: .float32)
        return Published(payload: try PayloadFile(payload, in: folder), version: modelVersion(of: payload))
    }

    // MARK: Calls from clients

    /// Registers a client; refuses another protocol version.
    public func join(client: String, protocolVersion: UInt32) throws(CoordinatorError) {
        guard protocolVersion == Self.protocolVersion else {
            throw .protocolMismatch(client: protocolVersion, coordinator: Self.protocolVersion)
        }
        if joined[client] == nil { joined[client] = joined.count }
        advance()
    }

    /// The client's next task. Holds the call up to `longPoll` while there is nothing to do,
    /// so that a waiting client hears of a new round at once rather than at its next poll.
    public func nextTask(client: String, longPoll: Duration = .seconds(1)) async throws(CoordinatorError) -> FederationTask {
        guard joined[client] != nil else { throw .notJoined(client) }
        let until = ContinuousClock.now + longPoll
        while true {
            advance()
            let task = task(for: client)
            if task != .wait(retryAfter: .zero) { return task }
            if ContinuousClock.now >= until { return .wait(retryAfter: .milliseconds(20)) }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    private func task(for client: String) -> FederationTask {
        switch phase {
        case .waitingForClients: return .wait(retryAfter: .zero)
        case .done: return .done
        case .training(let t):
            guard t.selected.contains(client), !t.received.contains(client) else { return .wait(retryAfter: .zero) }
            var plan = config.plan
            plan.seed = config.plan.seed &+ UInt64(t.round) &* 1_000 &+ UInt64(joined[client] ?? 0)
            return .train(round: t.round, modelVersion: published.version, plan: plan)
        case .evaluating(let e):
            guard e.pending.contains(client) else { return .wait(retryAfter: .zero) }
            return .evaluate(round: e.round, modelVersion: e.version)
        }
    }

    /// Up to `maxBytes` of a model version's payload from `offset` (transports send models
    /// piece by piece), counted toward the round's bytes down. Read off the actor, many at once.
    public nonisolated func modelPiece(version: String, offset: Int, maxBytes: Int, for client: String) async throws(CoordinatorError) -> ModelPiece {
        let (payload, range) = try await pieceRange(version: version, offset: offset, maxBytes: maxBytes, for: client)
        do {
            return ModelPiece(bytes: try payload.read(range), totalBytes: payload.count)
        } catch {
            throw .unavailable("model \(version.prefix(12)): \(error)")
        }
    }

    private func pieceRange(version: String, offset: Int, maxBytes: Int, for client: String) throws(CoordinatorError) -> (PayloadFile, Range<Int>) {
        let payload = version == published.version ? published.payload : previousVersions[version]
        guard let payload else { throw .unknownVersion(version) }
        guard offset >= 0, offset <= payload.count else {
            throw .outOfRange("offset \(offset) is past the end of the \(payload.count)-byte model \(version.prefix(12))")
        }
        let end = offset + min(max(maxBytes, 0), payload.count - offset)
        bytesDown[client, default: 0] += end - offset
        return (payload, offset..<end)
    }

    /// Folds in one client's update for the current round. The payload is decoded and checked
    /// off the actor (many at once), between two checks that the update is still wanted.
    public nonisolated func submitUpdate(
        client: String, round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data
    ) async throws(CoordinatorError) {
        try await checkUpdateWanted(client: client, round: round, baseVersion: baseVersion)
        guard examples >= 1 else { throw .invalidUpdate("an update must carry at least one example, got \(examples)") }
        let delta = try decodeUpdate(payload, from: client)
        try await fold(
            delta, client: client, round: round, baseVersion: baseVersion, examples: examples, bytes: payload.count, trainSeconds: trainSeconds)
    }

    /// Refuses an update for another round or base version, from a client not selected, or a second one.
    public func checkUpdateWanted(client: String, round: Int, baseVersion: String) throws(CoordinatorError) {
        advance()
        guard case .training(let t) = phase else { throw .staleUpdate("no round is collecting updates now (update for round \(round))") }
        guard round == t.round else { throw .staleUpdate("update for round \(round), but round \(t.round) is collecting") }
        guard baseVersion == published.version else {
            throw .staleUpdate("update trained from version \(baseVersion.prefix(12)), not the current \(published.version.prefix(12))")
        }
        guard t.selected.contains(client) else { throw .staleUpdate("client '\(client)' was not selected for round \(round)") }
        guard !t.received.contains(client) else { throw .staleUpdate("client '\(client)' already sent its update for round \(round)") }
    }

    /// Decodes an update against the model's layout and refuses what does not fit, is not
    /// finite, or is larger in norm than the configured bound.
    private nonisolated func decodeUpdate(_ payload: Data, from client: String) throws(CoordinatorError) -> SparseWeights {
        guard payload.count <= config.maxUpdateBytes else {
            throw .tooLarge("update of \(payload.count) bytes, over the limit of \(config.maxUpdateBytes)")
        }
        let delta: SparseWeights
        do {
            let layout = AttentionModel.layout(for: modelConfig)
            delta = try TensorPayload.decode(payload, expecting: layout, maxBytes: min(config.maxUpdateBytes, TensorPayload.maximumSize(of: layout)))
        } catch {
            if case .tooLarge = error { throw .tooLarge("update from '\(client)': \(error)") }
            throw .invalidUpdate("update from '\(client)': \(error)")
        }
        guard delta.tensors.allSatisfy({ $0.values.allSatisfy(\.isFinite) }) else {
            throw .invalidUpdate("update from '\(client)' holds NaN or infinite values")
        }
        let norm = delta.tensors.reduce(0.0) { sum, tensor in tensor.values.reduce(sum) { $0 + Double($1) * Double($1) } }.squareRoot()
        guard norm <= config.maxUpdateNorm else {
            throw .invalidUpdate(String(format: "update from '%@' has norm %.3g, over the bound of %.3g", client, norm, config.maxUpdateNorm))
        }
        return delta
    }

    private func fold(
        _ delta: SparseWeights, client: String, round: Int, baseVersion: String, examples: Int, bytes: Int, trainSeconds: Double
    ) throws(CoordinatorError) {
        try checkUpdateWanted(client: client, round: round, baseVersion: baseVersion)  // the round may have closed meanwhile
        guard case .training(var t) = phase else { return }
        phase = .done  // `t` is now the accumulator's only owner: added to in place, not copied (8 bytes a parameter)
        t.accumulator.add(ClientUpdate(client: client, exampleCount: examples, delta: delta))
        t.received.insert(client)
        t.bytesUp += bytes
        t.trainSecondsMax = max(t.trainSecondsMax, trainSeconds)
        phase = .training(t)
        advance()
    }

    /// Folds in one client's evaluation of the round's new model.
    public func submitEvaluation(client: String, round: Int, version: String, summary: EvaluationSummary) throws(CoordinatorError) {
        advance()
        guard case .evaluating(var e) = phase, e.round == round, e.version == version else {
            throw .staleUpdate("evaluation for round \(round) is not being collected")
        }
        guard e.pending.remove(client) != nil else {
            throw .staleUpdate("client '\(client)' was not asked to evaluate round \(round), or already did")
        }
        e.summary.merge(summary)
        e.reports += 1
        phase = .evaluating(e)
        advance()
    }

    // MARK: State

    /// The rounds finished so far.
    public var history: [RoundRecord] { records }
    public var isDone: Bool { if case .done = phase { true } else { false } }
    public var currentModel: AttentionModel { global }

    /// Waits until every round is published and evaluated.
    public func waitUntilDone() async -> [RoundRecord] {
        while !isDone {
            advance()
            try? await Task.sleep(for: .milliseconds(10))
        }
        return records
    }

    /// Moves the round lifecycle on: starts rounds, closes them on all answers or at the
    /// deadline, publishes, and finishes evaluations. Every call site runs it first.
    private func advance() {
        let now = ContinuousClock.now
        switch phase {
        case .done: return
        case .waitingForClients:
            guard joined.count >= config.minClients else { return }
            if let pending = unevaluated {
                // Published before a restart: evaluate it, don't train it again.
                unevaluated = nil
                roundStart = now
                bytesDown = [:]
                phase = .evaluating(
                    Evaluation(
                        round: pending.round, version: published.version, participants: pending.participants, examples: pending.examples,
                        bytesUpPerClient: pending.bytesUpPerClient, trainSecondsMax: pending.trainSecondsMax, pending: Set(joined.keys),
                        deadline: now + config.roundTimeout))
            } else if records.count >= config.rounds {
                phase = .done
            } else {
                startRound(records.count + 1)
            }
        case .training(let t):
            let everyone = t.received.count == t.selected.count
            guard everyone || now >= t.deadline else { return }
            guard t.received.count >= max(config.quorum, 1) else {
                retries.append("round \(t.round): \(t.received.count) of \(t.selected.count) updates by the timeout, quorum \(config.quorum)")
                startRound(t.round)
                return
            }
            phase = .done  // closeRound frees the running sum (8 bytes a parameter) once it has the mean
            closeRound(t)
        case .evaluating(let e):
            guard e.pending.isEmpty || now >= e.deadline else { return }
            let bytesDownPerClient = bytesDown.isEmpty ? 0 : bytesDown.values.reduce(0, +) / bytesDown.count
            let record = RoundRecord(
                round: e.round, modelVersion: e.version, participants: e.participants, examples: e.examples,
                testAUC: e.summary.auc, testLogLoss: e.summary.logLoss, evaluatedClients: e.reports,
                bytesUpPerClient: e.bytesUpPerClient, bytesDownPerClient: bytesDownPerClient,
                seconds: (now - roundStart).seconds, trainSecondsMax: e.trainSecondsMax, retries: retries)
            // The model is already durable; losing its metrics to a full disk is not worth a rerun.
            try? store?.recordEvaluation(record)
            records.append(record)
            retries = []
            if e.round >= config.rounds { phase = .done } else { startRound(e.round + 1) }
        }
    }

    private func startRound(_ round: Int) {
        var clients = joined.keys.sorted { joined[$0]! < joined[$1]! }
        if config.clientsPerRound > 0 && config.clientsPerRound < clients.count {
            var rng = SeededGenerator(seed: UInt64(round) &* 7_919 &+ UInt64(retries.count))
            clients.shuffle(using: &rng)
            clients = Array(clients.prefix(config.clientsPerRound))
        }
        roundStart = ContinuousClock.now
        bytesDown = [:]
        phase = .training(
            Training(
                round: round, selected: Set(clients), accumulator: UpdateAccumulator(layout: global.parameters.layout),
                deadline: ContinuousClock.now + config.roundTimeout))
    }

    private func closeRound(_ t: consuming Training) {
        let round = t.round, participants = t.accumulator.clients, examples = t.accumulator.totalExamples
        let bytesUpPerClient = t.received.isEmpty ? 0 : t.bytesUp / t.received.count, trainSecondsMax = t.trainSecondsMax
        let next = strategy.aggregate(t.accumulator, global: global.parameters)
        _ = consume t
        // Clients still downloading the current version may finish; the one before it goes.
        previousVersions = [:]
        guard let next, let model = try? AttentionModel(config: modelConfig, parameters: next) else {
            retries.append("round \(round): aggregation published nothing")
            startRound(round)
            return
        }
        let newVersion: Published
        do {
            newVersion = try Self.publish(model, in: payloadFolder)
            try store?.publish(
                round: round, version: newVersion.version, model: model, participants: participants, examples: examples,
                bytesUpPerClient: bytesUpPerClient, trainSecondsMax: trainSecondsMax)
        } catch {
            retries.append("round \(round): the new version could not be stored: \(error)")
            startRound(round)
            return
        }
        previousVersions = [published.version: published.payload]
        global = model
        published = newVersion
        phase = .evaluating(
            Evaluation(
                round: round, version: newVersion.version, participants: participants, examples: examples,
                bytesUpPerClient: bytesUpPerClient, trainSecondsMax: trainSecondsMax, pending: Set(joined.keys),
                deadline: ContinuousClock.now + config.roundTimeout))
    }
}
