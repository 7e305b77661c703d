import FedAttnCodec
import FedAttnCore
import FedAttnData
import FedAttnFederation
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

/// A published model is served piece by piece from a file the coordinator does not keep in
/// memory, and which it leaves nowhere in its state folder.
struct ModelDownloadTests {
    @Test func piecesReassembleThePublishedModelAndNoPayloadFileIsLeftBehind() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fedattn-download-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // What a coordinator killed between creating a payload file and unlinking it leaves.
        _ = FileManager.default.createFile(atPath: folder + "/.payload-AbC123", contents: Data([1, 2, 3]))
        let model = try Fixtures.tinyModel()
        let coordinator = try Coordinator(
            modelConfig: Fixtures.tinyConfig, config: CoordinatorConfig(rounds: 1, minClients: 1), initialModel: model,
            store: try StateStore(folder: folder))
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        guard case .train(1, let version, _) = try await coordinator.nextTask(client: "a") else {
            Issue.record("no training task")
            return
        }

        var payload = Data()
        var total = 1
        while payload.count < total {
            let piece = try await coordinator.modelPiece(version: version, offset: payload.count, maxBytes: 1_000, for: "a")
            #expect(piece.bytes.count <= 1_000)
            payload += piece.bytes
            total = piece.totalBytes
        }
        let layout = model.parameters.layout
        let decoded = try TensorPayload.decode(payload, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout))
        #expect(decoded.densified().values == model.parameters.values)
        #expect(ModelDigest(decoded.densified()).version == version)

        await #expect(throws: CoordinatorError.self) {
            try await coordinator.modelPiece(version: version, offset: total + 1, maxBytes: 1_000, for: "a")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(names.filter { $0.hasPrefix(".payload-") }.isEmpty, "left in the state folder: \(names)")
    }

    /// The synthetic data in two silos over a large hashed table: they touch a few hundred of its 50,001 rows.
    static func twoHashedSilos() throws -> (ModelConfig, [(train: ExampleSet, test: ExampleSet)]) {
        let config = ModelConfig(items: .hashed(buckets: 50_000), strategies: Fixtures.syntheticConfig.strategies)
        let reader = ClickLogReader(items: config.items, strategies: config.strategies)
        let text = ClickLogWriter.csv(SyntheticGenerator(config: Fixtures.syntheticData).generate(), includeStrategy: true)
        let log = try reader.read(path: try Fixtures.writeTemporaryFile("silo.csv", text))
        return (config, SiloSplitter(silos: 2, scheme: .iid, seed: 1).split(log).map { ExampleBuilder().build($0) })
    }

    @Test func aClientHoldingTheLastVersionDownloadsOnlyWhatChangedAndHoldsTheCoordinatorsModel() async throws {
        let (config, parts) = try Self.twoHashedSilos()
        let coordinator = try Coordinator(
            modelConfig: config, config: CoordinatorConfig(rounds: 3, minClients: 2), initialModel: try AttentionModel(config: config, seed: 0))
        let downloads = Recorded()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, part) in parts.enumerated() {
                group.addTask {
                    let link = RecordingDownloads(inner: InProcessLink(coordinator: coordinator, client: "silo\(index)"), downloads: downloads)
                    try await Participant(train: part.train, test: part.test).run(link: link, expectedModel: config)
                }
            }
            try await group.waitForAll()
        }
        // Each silo: the initial model whole, then every published version as a delta from the
        // one before (rounds 1, 2, 3); never a second, whole download of a version (which is
        // what a delta that did not check out against its version would cause).
        let lines = downloads.all
        let whole = lines.filter { $0.hasPrefix("whole") }, deltas = lines.filter { $0.hasPrefix("step") }
        #expect(whole.count == 2, "\(lines)")
        #expect(deltas.count == 6, "\(lines)")
        let wholeBytes = whole.compactMap { Int($0.split(separator: " ")[1]) }.max()!
        let deltaBytes = deltas.compactMap { Int($0.split(separator: " ")[1]) }.max()!
        #expect(deltaBytes * 20 < wholeBytes, "a delta of \(deltaBytes) bytes against a whole model of \(wholeBytes)")
        // The coordinator's model is the version its last round published.
        let final = await coordinator.currentModel
        #expect(ModelDigest(final.parameters).version == (await coordinator.history.last?.modelVersion))
    }

    @Test func aClientBackAfterMissingRoundsDownloadsTheRowsChangedSinceItsVersion() async throws {
        let (config, parts) = try Self.twoHashedSilos()
        var settings = CoordinatorConfig(rounds: 4, minClients: 2)
        (settings.quorum, settings.roundTimeout) = (1, .seconds(2))
        // Rounds 2 and 3 (training and evaluation) reach their deadline without the away silo
        // when the steady one has answered, and no round's deadline passes otherwise.
        let clock = ManualClock()
        let coordinator = try Coordinator(
            modelConfig: config, config: settings, initialModel: try AttentionModel(config: config, seed: 0), clock: clock)
        let (steady, away) = (Recorded(), Recorded())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let link = RecordingDownloads(inner: InProcessLink(coordinator: coordinator, client: "steady"), downloads: steady)
                try await Participant(train: parts[0].train, test: parts[0].test).run(link: link, expectedModel: config) { event in
                    switch event {
                    case .uploaded(2...3, _, _, _, _), .evaluated(2...3, _, _, _): clock.advance(by: .seconds(2))
                    default: break
                    }
                }
            }
            group.addTask {
                // Away (silent, as if offline) from round 1's evaluation until round 3 is published:
                // rounds 2 and 3 close at their deadline without it.
                // Away from the moment it has evaluated round 1 (not from when round 1 is on
                // record: it may finish its evaluation first, and would then train round 2).
                let evaluatedRound1 = Counter()
                var link = RecordingDownloads(inner: InProcessLink(coordinator: coordinator, client: "away"), downloads: away)
                link.beforeTask = {
                    guard evaluatedRound1.value > 0 else { return }
                    _ = await coordinator.history(beyond: 2)
                }
                try await Participant(train: parts[1].train, test: parts[1].test).run(link: link, expectedModel: config) { event in
                    if case .evaluated(round: 1, _, _, _) = event { evaluatedRound1.increment() }
                }
            }
            try await group.waitForAll()
        }
        // Back, it holds round 1's version and is asked to evaluate round 3's: the rows changed
        // in rounds 2 and 3, checked against the version (no whole download follows), then
        // round 4 as a step.
        let lines = away.all
        #expect(lines.map { $0.split(separator: " ")[0] } == ["whole", "step", "catch-up", "step"], "\(lines)")
        let bytes = Dictionary(lines.map { ($0.split(separator: " ")[0], Int($0.split(separator: " ")[1])!) }, uniquingKeysWith: max)
        #expect((bytes["catch-up"] ?? .max) * 10 < (bytes["whole"] ?? 0), "\(lines)")
        #expect(!steady.all.contains { $0.hasPrefix("catch-up") }, "\(steady.all)")
        let history = await coordinator.history
        #expect(history.count == 4)
        #expect(history[1].evaluatedClients == 1 && history[3].evaluatedClients == 2, "\(history.map(\.evaluatedClients))")
    }

    @Test func anUpdateSendingTheTableWholeStillPublishesAVersionThatNamesTheModel() async throws {
        let model = try Fixtures.tinyModel()
        let coordinator = try Coordinator(
            modelConfig: Fixtures.tinyConfig, config: CoordinatorConfig(rounds: 1, minClients: 1), initialModel: model)
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        guard case .train(1, let base, _) = try await coordinator.nextTask(client: "a") else {
            Issue.record("no training task")
            return
        }
        // Every value moves a little (row 0, the padding row, stays), the table sent whole.
        var delta = Weights(zerosLike: model.parameters.layout)
        for i in Fixtures.tinyConfig.dim..<delta.values.count { delta.values[i] = Float(i % 7 + 1) * 1e-3 }
        let payload = try TensorPayload.encode(SparseWeights(delta, sparseTensors: []), precision: .float16)
        try await coordinator.submitUpdate(client: "a", round: 1, baseVersion: base, examples: 100, trainSeconds: 0, payload: payload)
        guard case .evaluate(1, let version, _) = try await coordinator.nextTask(client: "a") else {
            Issue.record("no evaluation task")
            return
        }
        let published = await coordinator.currentModel
        #expect(published.parameters.values != model.parameters.values)
        #expect(ModelDigest(published.parameters).version == version)
        // A client holding the version before gets the step, and reaches the same model.
        let piece = try await coordinator.modelPiece(version: version, base: base, offset: 0, maxBytes: .max, for: "a")
        #expect(piece.deltaFrom == base)
        let layout = model.parameters.layout
        var held = model.parameters
        try TensorPayload.decode(piece.bytes, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout), accepting: [.float32Step])
            .add(to: &held)
        #expect(held.values == published.parameters.values)
    }

    /// A client that changed its base version between two pieces of one download would glue
    /// a step's bytes to the whole model's: the coordinator serves a later piece only from the
    /// payload the download's first piece came from, and names both downloads when it refuses.
    @Test func thePiecesOfOneDownloadComeFromOnePayload() async throws {
        let model = try Fixtures.tinyModel()
        let coordinator = try Coordinator(
            modelConfig: Fixtures.tinyConfig, config: CoordinatorConfig(rounds: 2, minClients: 1), initialModel: model)
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        guard case .train(1, let base, _) = try await coordinator.nextTask(client: "a") else {
            Issue.record("no training task")
            return
        }
        var delta = Weights(zerosLike: model.parameters.layout)
        for i in Fixtures.tinyConfig.dim..<delta.values.count { delta.values[i] = Float(i % 5 + 1) * 1e-3 }
        let update = try TensorPayload.encode(SparseWeights(delta, sparseTensors: [AttentionModel.TensorName.items]), precision: .float16)
        try await coordinator.submitUpdate(client: "a", round: 1, baseVersion: base, examples: 100, trainSeconds: 0, payload: update)
        guard case .evaluate(1, let version, _) = try await Self.nextWork(coordinator, "a") else {
            Issue.record("no evaluation task")
            return
        }
        // Two payloads of one version: the step from `base`, and the whole model.
        let step = try await coordinator.modelPiece(version: version, base: base, offset: 0, maxBytes: .max, for: "b")
        let whole = try await coordinator.modelPiece(version: version, offset: 0, maxBytes: .max, for: "b")
        #expect(step.deltaFrom == base && whole.deltaFrom == nil && step.totalBytes != whole.totalBytes)

        // a begins the step, then asks its next piece without the base: refused, both named.
        let first = try await coordinator.modelPiece(version: version, base: base, offset: 0, maxBytes: 10, for: "a")
        #expect(first.bytes == step.bytes.prefix(10))
        let mixed = await #expect(throws: CoordinatorError.self) {
            try await coordinator.modelPiece(version: version, offset: 10, maxBytes: 10, for: "a")
        }
        #expect(mixed?.kind == .otherDownload, "\(String(describing: mixed))")
        let message = mixed?.message ?? ""
        #expect(
            message.contains("client 'a'") && message.contains("model \(version.prefix(12)) with no base version")
                && message.contains("model \(version.prefix(12)) from base version \(base.prefix(12))"), "\(message)")
        // The same base goes on with the step, to its end.
        let second = try await coordinator.modelPiece(version: version, base: base, offset: 10, maxBytes: .max, for: "a")
        #expect(first.bytes + second.bytes == step.bytes && second.deltaFrom == base)
        // A piece past offset 0 with no download begun is refused too: b's downloads are b's.
        let unbegun = await #expect(throws: CoordinatorError.self) {
            try await coordinator.modelPiece(version: version, offset: 10, maxBytes: 10, for: "c")
        }
        #expect(unbegun?.kind == .otherDownload && unbegun?.message.contains("client 'c'") == true, "\(String(describing: unbegun))")
        // Beginning again at offset 0 without the base downloads the whole model, piece by piece.
        let head = try await coordinator.modelPiece(version: version, offset: 0, maxBytes: 10, for: "a").bytes
        let rest = try await coordinator.modelPiece(version: version, offset: 10, maxBytes: .max, for: "a").bytes
        #expect(head + rest == whole.bytes)
    }

    /// `client`'s next task that is not a wait: each long poll ends in one after a second with
    /// nothing new (a round being aggregated and stored, on a loaded machine).
    static func nextWork(_ coordinator: Coordinator, _ client: String) async throws -> FederationTask {
        while true {
            let task = try await coordinator.nextTask(client: client)
            if case .wait = task { continue }
            return task
        }
    }

    /// Every refusal of a client's call names the client (and the round or version there is).
    @Test func everyRefusalNamesTheClient() async throws {
        let model = try Fixtures.tinyModel()
        let coordinator = try Coordinator(
            modelConfig: Fixtures.tinyConfig, config: CoordinatorConfig(rounds: 2, minClients: 1, maxUpdateBytes: 1 << 20), initialModel: model)
        func refusal(_ call: () async throws -> Void) async -> String {
            do {
                try await call()
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        let refusals = [
            await refusal { try await coordinator.join(client: "a", protocolVersion: 1, trainExamples: 1_000) },
            await refusal { try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 0) },
            await refusal { _ = try await coordinator.nextTask(client: "a") },
        ]
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        guard case .train(1, let base, _) = try await coordinator.nextTask(client: "a") else {
            Issue.record("no training task")
            return
        }
        var delta = Weights(zerosLike: model.parameters.layout)
        for i in Fixtures.tinyConfig.dim..<delta.values.count { delta.values[i] = Float(i % 3 + 1) * 1e-3 }
        let update = try TensorPayload.encode(SparseWeights(delta, sparseTensors: []), precision: .float16)
        // A download begun, so that the piece asked past its end below is out of range.
        _ = try await coordinator.modelPiece(version: base, offset: 0, maxBytes: 1, for: "a")
        let later = [
            await refusal {
                try await coordinator.submitUpdate(client: "a", round: 2, baseVersion: base, examples: 10, trainSeconds: 0, payload: update)
            },
            await refusal {
                try await coordinator.submitUpdate(client: "a", round: 1, baseVersion: "v0", examples: 10, trainSeconds: 0, payload: update)
            },
            await refusal {
                try await coordinator.submitUpdate(client: "a", round: 1, baseVersion: base, examples: 0, trainSeconds: 0, payload: update)
            },
            await refusal {
                try await coordinator.submitUpdate(
                    client: "a", round: 1, baseVersion: base, examples: 10, trainSeconds: 0, payload: Data(repeating: 1, count: (1 << 20) + 1))
            },
            await refusal {
                try await coordinator.submitEvaluation(client: "a", round: 1, version: base, report: EvaluationReport())
            },
            await refusal { _ = try await coordinator.modelPiece(version: "v9", offset: 0, maxBytes: 10, for: "a") },
            await refusal { _ = try await coordinator.modelPiece(version: base, offset: 1 << 30, maxBytes: 10, for: "a") },
        ]
        for message in refusals + later {
            #expect(message != "accepted" && message.contains("'a'"), "\(message)")
        }
        // An evaluation of another model than its task's is refused as that, not as "not collected".
        try await coordinator.submitUpdate(client: "a", round: 1, baseVersion: base, examples: 10, trainSeconds: 0, payload: update)
        guard case .evaluate(1, let version, _) = try await Self.nextWork(coordinator, "a") else {
            Issue.record("no evaluation task")
            return
        }
        let otherModel = await refusal { try await coordinator.submitEvaluation(client: "a", round: 1, version: base, report: EvaluationReport()) }
        #expect(
            otherModel.contains("evaluation from 'a' of model \(base.prefix(12)) for round 1, but round 1 evaluates model \(version.prefix(12))"),
            "\(otherModel)")
    }
}

/// A link that notes each download: "whole BYTES", "step BYTES" (a delta from the version
/// before) or "catch-up BYTES" (the rows changed since an older version); `beforeTask`
/// may hold the client back before it asks for a task.
struct RecordingDownloads: FederationLink {
    let inner: InProcessLink
    let downloads: Recorded
    var beforeTask: @Sendable () async throws -> Void = {}

    func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo {
        try await inner.join(protocolVersion: protocolVersion, trainExamples: trainExamples)
    }
    func nextTask(lastRound: Int) async throws -> FederationTask {
        try await beforeTask()
        return try await inner.nextTask(lastRound: lastRound)
    }
    func downloadModel(version: String, base: String?) async throws -> DownloadedPayload {
        let payload = try await inner.downloadModel(version: version, base: base)
        var kind = "whole"
        if payload.deltaFrom != nil {
            let layout = AttentionModel.layout(for: inner.coordinator.modelConfig)
            let precision = try TensorPayload.decodeTagged(
                payload.bytes, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout), accepting: [.float32Step, .float32]
            ).precision
            kind = precision == .float32Step ? "step" : "catch-up"
        }
        downloads.add("\(kind) \(payload.bytes.count)")
        return payload
    }
    func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        try await inner.uploadUpdate(round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
    }
    func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws {
        try await inner.reportEvaluation(round: round, version: version, report: report)
    }

    func sendSecure(_ reply: SecureReply) async throws { try await inner.sendSecure(reply) }
}
