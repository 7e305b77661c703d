import FedAttnAggregation
import FedAttnCodec
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import FedAttnSecAgg
import Foundation
import Logging
import Synchronization
import Testing
import _FedAttnTestSupport

/// A silo that sends the same prepared delta every round (no training), so that a secure
/// round and a plain one aggregate exactly the same updates.
private struct FixedWork: LocalWork {
    let delta: SparseWeights
    let payload: Data
    let trainExamples: Int

    init(layout: ParameterLayout, seed: UInt64, examples: Int) throws {
        var dense = Weights(zerosLike: layout)
        var rng = SeededGenerator(seed: seed)
        let items = layout.range(of: AttentionModel.TensorName.items)!
        let width = layout.tensors[0].shape[1], rows = layout.tensors[0].shape[0]
        for row in 1..<rows where rng.nextUnit() < 0.3 {
            for j in 0..<width { dense.values[items.lowerBound + row * width + j] = Float(rng.nextNormal() * 0.01) }
        }
        for i in items.upperBound..<layout.count { dense.values[i] = Float(rng.nextNormal() * 0.01) }
        payload = try TensorPayload.encode(SparseWeights(dense, sparseTensors: [AttentionModel.TensorName.items]), precision: .float16)
        delta = try TensorPayload.decode(payload, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout))
        trainExamples = examples
    }

    func train(from global: GlobalModel, plan: LocalTrainingPlan, round: Int, progress: @escaping @Sendable (Int, Int) -> Void) async throws
        -> LocalUpdate
    {
        LocalUpdate(payload: payload, examples: trainExamples, trainSeconds: 0, meanLoss: 0)
    }

    func evaluate(_ global: GlobalModel) async throws -> EvaluationReport { EvaluationReport() }
}

/// A link that records the masked vectors it sends, and can drop out of the round after its
/// masked values (leaving the federation), or stay silent in one phase of a round's first
/// attempt (connected, but never answering).
private struct SecureTestLink: FederationLink {
    enum Fault: Sendable { case none, leaveAfterMaskingValues, leaveAfterMaskingIndicators, silentInFirstAttempt(SecurePhase), abortAt(SecurePhase) }
    let inner: InProcessLink
    let fault: Fault
    /// Hears every secure answer the silo sends, once the coordinator has taken it.
    var answered: @Sendable (SecureReply) -> Void = { _ in }
    let state = Recorded()

    /// What the link did, shared by its copies.
    final class Recorded: Sendable {
        let sent = Mutex<[[UInt32]]>([])
        let left = Mutex(false)
    }
    var sent: [[UInt32]] { state.sent.withLock { $0 } }
    var left: Bool { state.left.withLock { $0 } }

    func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo {
        try await inner.join(protocolVersion: protocolVersion, trainExamples: trainExamples)
    }
    func nextTask(lastRound: Int) async throws -> FederationTask {
        left ? .done(keptVersion: nil) : try await inner.nextTask(lastRound: lastRound)
    }
    func downloadModel(version: String, base: String?) async throws -> DownloadedPayload {
        try await inner.downloadModel(version: version, base: base)
    }
    func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        try await inner.uploadUpdate(round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
    }
    func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws {
        try await inner.reportEvaluation(round: round, version: version, report: report)
    }
    func sendSecure(_ reply: SecureReply) async throws {
        if case .silentInFirstAttempt(let phase) = fault, reply.attempt == 1, reply.phase == phase { return }
        if case .abortAt(let phase) = fault, reply.phase == phase {
            var abort = SecureReply(round: reply.round, attempt: reply.attempt, phase: phase)
            abort.abort = "a test client that cannot go on"
            try await inner.sendSecure(abort)
            return
        }
        try await inner.sendSecure(reply)
        answered(reply)
        if !reply.masked.isEmpty { state.sent.withLock { $0.append(reply.masked) } }
        let leaves: Bool
        switch fault {
        case .leaveAfterMaskingValues: leaves = reply.phase == .maskValues
        case .leaveAfterMaskingIndicators: leaves = reply.phase == .maskIndicators
        default: leaves = false
        }
        if leaves {
            state.left.withLock { $0 = true }
            await inner.coordinator.leave(client: inner.client)
        }
    }
}

struct SecureAggregationTests {
    static let model = ModelConfig(items: .catalogue(items: 300), strategies: 3)
    static var layout: ParameterLayout { AttentionModel.layout(for: model) }

    /// Runs one federation of fixed-update silos to its end; returns the coordinator. No
    /// deadline passes unless `answered` (hearing every silo's secure answers) moves `clock` on.
    private static func federate(
        _ works: [FixedWork], config: CoordinatorConfig, faults: [SecureTestLink.Fault] = [], store: StateStore? = nil, logger: LogLines? = nil,
        clock: ManualClock = ManualClock(), answered: @escaping @Sendable (SecureReply) -> Void = { _ in }
    ) async throws -> (Coordinator, [SecureTestLink]) {
        let initial = try AttentionModel(config: model, seed: 5)
        let coordinator = try Coordinator(
            modelConfig: model, config: config, initialModel: initial, store: store,
            logger: logger?.logger ?? Logger(label: "quiet", factory: { _ in SwiftLogNoOpLogHandler() }), clock: clock)
        let links = works.indices.map { i in
            SecureTestLink(
                inner: InProcessLink(coordinator: coordinator, client: "silo-\(i)"), fault: i < faults.count ? faults[i] : .none, answered: answered)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Fixed draws: each secure comparison with plain FedAvg is one outcome, not a 1-in-65,535
            // chance per shared row that two silos' indicator values cancel.
            for (index, (work, link)) in zip(works, links).enumerated() {
                group.addTask { try await Participant(work: work, secureDrawSeed: UInt64(index + 1)).run(link: link, expectedModel: model) }
            }
            try await group.waitForAll()
        }
        return (coordinator, links)
    }

    private static func works(_ n: Int) throws -> [FixedWork] {
        try (0..<n).map { try FixedWork(layout: layout, seed: UInt64(100 + $0), examples: 200 + 50 * $0) }
    }

    private static func config(
        clients: Int, secure: SecureAggregationSettings?, rounds: Int = 1, rule: ServerOptimizer.Rule = .fedavg, batchSize: Int = 256
    ) -> CoordinatorConfig {
        var config = CoordinatorConfig(
            rounds: rounds, minClients: clients, roundTimeout: .seconds(30), plan: LocalTrainingPlan(batchSize: batchSize, proximalMu: 0),
            server: ServerOptimizer(rule: rule))
        config.secureAggregation = secure
        return config
    }

    /// The largest difference between two models' values, and the largest value of the first.
    private static func difference(_ a: AttentionModel, _ b: AttentionModel) -> Float {
        zip(a.parameters.values, b.parameters.values).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test func aSecureRoundPublishesPlainFedAvgsModelWithinTheQuantisersBound() async throws {
        let works = try Self.works(5)
        let settings = SecureAggregationSettings()
        let (plain, _) = try await Self.federate(works, config: Self.config(clients: 5, secure: nil))
        let (secure, _) = try await Self.federate(works, config: Self.config(clients: 5, secure: settings))
        let (plainModel, secureModel) = (await plain.currentModel, await secure.currentModel)
        // Each of 5 values rounds by under one step; the published step is then rounded to 11 bits.
        let bound = 5 * settings.quantizer.step + 1e-3 * 0.05
        let gap = Self.difference(plainModel, secureModel)
        #expect(gap <= bound, "largest difference \(gap), bound \(bound)")
        // And the round did move the model: by far more than that.
        let initial = try AttentionModel(config: Self.model, seed: 5)
        #expect(Self.difference(initial, secureModel) > 100 * bound)
        let record = try #require(await secure.history.first)
        #expect(record.participants.count == 5 && record.retries.isEmpty)
    }

    /// FedNova's weights (each silo's examples over its local steps) are applied by the silos
    /// themselves before the sum: the secure round publishes plain FedNova's model.
    @Test func aSecureFedNovaRoundPublishesPlainFedNovasModel() async throws {
        // 200..400 examples at batch 64: 4 to 7 local steps, so FedNova's mean differs from FedAvg's.
        let works = try Self.works(5)
        let settings = SecureAggregationSettings()
        let (plain, _) = try await Self.federate(works, config: Self.config(clients: 5, secure: nil, rule: .fednova, batchSize: 64))
        let (secure, _) = try await Self.federate(works, config: Self.config(clients: 5, secure: settings, rule: .fednova, batchSize: 64))
        let (fedavg, _) = try await Self.federate(works, config: Self.config(clients: 5, secure: nil, rule: .fedavg, batchSize: 64))
        let bound = 5 * settings.quantizer.step + 1e-3 * 0.05
        let gap = Self.difference(await plain.currentModel, await secure.currentModel)
        #expect(gap <= bound, "largest difference \(gap), bound \(bound)")
        #expect(Self.difference(await plain.currentModel, await fedavg.currentModel) > 10 * bound)
    }

    @Test func aRoundWhereThreeOfTenDropAfterMaskingCompletesWithTheirInputs() async throws {
        let works = try Self.works(10)
        let faults = Array(repeating: SecureTestLink.Fault.leaveAfterMaskingValues, count: 3)
        let (secure, links) = try await Self.federate(works, config: Self.config(clients: 10, secure: SecureAggregationSettings()), faults: faults)
        let record = try #require(await secure.history.first)
        #expect(record.retries.isEmpty, "\(record.retries)")
        // The three sent their masked values: their self masks were rebuilt from their neighbours' shares.
        #expect(record.participants.count == 10)
        #expect(links.prefix(3).filter(\.left).count == 3)
        let (plain, _) = try await Self.federate(works, config: Self.config(clients: 10, secure: nil))
        let gap = Self.difference(await plain.currentModel, await secure.currentModel)
        #expect(gap <= 10 * SecureAggregationSettings().quantizer.step + 5e-5, "largest difference \(gap)")
    }

    /// A silo that sends its indicators and then leaves is in neither sum's result: the round
    /// is FedAvg over the other nine (their weights scaled to the whole).
    /// Under FedNova the nine's coefficients are rebuilt over the nine (at batch 64 the silos
    /// take 4 to 11 local steps, so rescaling FedAvg's way would miss by 1.7%).
    @Test(arguments: [ServerOptimizer.Rule.fedavg, .fednova])
    func aSiloThatLeavesBetweenTheTwoSumsIsLeftOutOfTheMean(rule: ServerOptimizer.Rule) async throws {
        let works = try Self.works(10)
        let (secure, _) = try await Self.federate(
            works, config: Self.config(clients: 10, secure: SecureAggregationSettings(), rule: rule, batchSize: 64),
            faults: [.leaveAfterMaskingIndicators])
        let record = try #require(await secure.history.first)
        #expect(record.participants.count == 9 && !record.participants.contains("silo-0") && record.retries.isEmpty)
        let (plain, _) = try await Self.federate(
            Array(works.dropFirst()), config: Self.config(clients: 9, secure: nil, rule: rule, batchSize: 64))
        let gap = Self.difference(await plain.currentModel, await secure.currentModel)
        #expect(gap <= 10 * SecureAggregationSettings().quantizer.step + 5e-5, "largest difference \(gap)")
    }

    /// A silo that cannot go on says so, and the round stops waiting for it at once: no
    /// deadline ever passes here (the clock stands still), so waiting for it would hang the
    /// test until its time limit.
    @Test(.timeLimit(.minutes(10))) func aSiloThatAbortsIsNotWaitedFor() async throws {
        let (secure, _) = try await Self.federate(
            try Self.works(6), config: Self.config(clients: 6, secure: SecureAggregationSettings()), faults: [.abortAt(.maskIndicators)])
        let record = try #require(await secure.history.first)
        #expect(record.participants.count == 5 && record.retries.isEmpty)
    }

    @Test func aRoundWithFewerUnmaskersThanTheThresholdIsRetriedAndRecorded() async throws {
        // 10 clients: 8 neighbours each, threshold 5. Six stay silent when asked to unmask in
        // the first attempt: 4 answers, under the threshold, so the round is tried again.
        let settings = SecureAggregationSettings()
        // The silent phase reaches its deadline once the four others have answered; no other
        // deadline passes.
        let (clock, heard) = (ManualClock(), Counter())
        let faults = Array(repeating: SecureTestLink.Fault.silentInFirstAttempt(.unmaskValues), count: 6)
        let (secure, _) = try await Self.federate(
            try Self.works(10), config: Self.config(clients: 10, secure: settings), faults: faults, clock: clock
        ) { reply in
            guard reply.phase == .unmaskValues, reply.attempt == 1 else { return }
            if heard.increment() == 4 { clock.advance(by: settings.phaseTimeout) }
        }
        let record = try #require(await secure.history.first)
        #expect(record.retries.count == 1)
        #expect(record.retries.first?.contains("unmask values phase heard 4 of 10 clients, 5 needed") == true, "\(record.retries)")
        #expect(record.participants.count == 10)
    }

    @Test func theCoordinatorStoresAndLogsNoIndividualUpdate() async throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let works = try Self.works(4)
        let lines = LogLines()
        let (coordinator, links) = try await Self.federate(
            works, config: Self.config(clients: 4, secure: SecureAggregationSettings(), rounds: 2), store: try StateStore(folder: folder),
            logger: lines)
        #expect(await coordinator.history.count == 2)
        // What each silo's update is made of: its float32 values (a dense tensor's), and the
        // masked vectors it sent. None of it may be found in any stored byte or logged line.
        var secrets: [Data] = []
        for work in works {
            let dense = work.delta.tensors[2].values  // attention.query
            secrets.append(dense.prefix(8).withUnsafeBufferPointer { Data(buffer: $0) })
        }
        for link in links {
            for vector in link.sent { secrets.append(vector.prefix(8).withUnsafeBufferPointer { Data(buffer: $0) }) }
        }
        #expect(secrets.count >= 4 + 4 * 2 * 2)
        var stored = Data(lines.all.joined(separator: "\n").utf8)
        let files = try FileManager.default.subpathsOfDirectory(atPath: folder)
        for file in files {
            var isFolder: ObjCBool = false
            let path = folder + "/" + file
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            stored.append(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        #expect(stored.count > 100_000, "the state folder holds the rounds' models")
        // What it does keep of the rows: the union over every silo, as a bitmap.
        let bitmap = try #require(try StateStore.reading(folder: folder).secureRows())
        let union = works.reduce(Set<Int32>()) { $0.union($1.delta.tensors[0].rows ?? []) }
        #expect(RowSet(rows: Self.layout.tensors[0].shape[0], bitmap: bitmap).map { Set($0.sorted) } == union)
        // Round 2 announced no row: every one was known from round 1.
        #expect(lines.all.contains { $0.contains("round 2: 0 item rows trained for the first time") }, "\(lines.all)")
        for secret in secrets { #expect(stored.range(of: secret) == nil) }
        // A check that can fail: a stored model is found the same way.
        let model = await coordinator.currentModel.parameters.values
        #expect(stored.range(of: model[100..<108].withUnsafeBufferPointer { Data(buffer: $0) }) != nil)
    }
}
