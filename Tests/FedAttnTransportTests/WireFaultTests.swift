import FedAttnCodec
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import FedAttnProtocol
import FedAttnTransport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import SwiftProtobuf
import Synchronization
import Testing
import _FedAttnTestSupport

/// Faults seen from the wire: raw gRPC clients over mutual TLS on 127.0.0.1 doing what the
/// real client never would. Each test checks the refusal and that the federation carries on.
struct WireFaultTests {
    /// Serves `coordinator` with a fresh CA and runs `body` with a way to open raw clients.
    static func withServer(
        _ coordinator: Coordinator, log: LogLines = LogLines(), callRate: CallRateLimit = CallRateLimit(), logBudget: LogBudget = LogBudget(),
        _ body: @Sendable (_ connect: @escaping Connect) async throws -> Void
    ) async throws {
        let authority = try DevCertificateAuthority()
        try await withCoordinatorServer(
            coordinator, host: "127.0.0.1", port: 0, security: .mutualTLS(try authority.serverIdentity()), logger: log.logger, callRate: callRate,
            refusalLogBudget: logBudget
        ) { port in
            try await body { name, use in
                let identity = try authority.clientIdentity(name: name)
                let transport = try HTTP2ClientTransport.Posix(
                    target: .ipv4(address: "127.0.0.1", port: port),
                    transportSecurity: .mTLS(
                        certificateChain: [.bytes(Array(identity.certificatePEM.utf8), format: .pem)],
                        privateKey: .bytes(Array(identity.privateKeyPEM.utf8), format: .pem)
                    ) { $0.trustRoots = .certificates([.bytes(Array(identity.caCertificatePEM.utf8), format: .pem)]) })
                try await withGRPCClient(transport: transport) { try await use($0) }
            }
        }
    }
    /// A Join as a well-behaved silo of 1,000 training examples sends it.
    static let joinRequest = Fedattn_V1_JoinRequest.with {
        $0.protocolVersion = Coordinator.protocolVersion
        $0.trainExamples = 1_000
    }

    typealias Connect =
        @Sendable (_ name: String, _ use: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Void) async throws -> Void

    /// A coordinator whose deadlines pass only when the test moves `clock` on.
    static func coordinator(_ config: CoordinatorConfig, items: Int = 400, clock: ManualClock = ManualClock()) throws -> Coordinator {
        let model = ModelConfig(items: .catalogue(items: items), strategies: 3)
        return try Coordinator(modelConfig: model, config: config, initialModel: try AttentionModel(config: model, seed: 0), clock: clock)
    }

    @Test func aSecondLiveConnectionWithTheSameSiloNameIsRefused() async throws {
        let log = LogLines()
        let coordinator = try Self.coordinator(CoordinatorConfig(rounds: 1, minClients: 2))
        try await Self.withServer(coordinator, log: log) { connect in
            let firstJoined = Counter()
            let (closing, closeFirst) = AsyncStream<Void>.makeStream()
            let first = Task {
                try await connect("shop") { client in
                    _ = try await Fedattn_V1_Federation.Client(wrapping: client).join(WireFaultTests.joinRequest)
                    firstJoined.increment()
                    for await _ in closing { break }
                    client.beginGracefulShutdown()
                }
            }
            await firstJoined.reach(1)
            try await connect("shop") { client in
                let federation = Fedattn_V1_Federation.Client(wrapping: client)
                let error = await #expect(throws: RPCError.self) {
                    _ = try await federation.join(WireFaultTests.joinRequest)
                }
                #expect(error?.code == .alreadyExists)
                #expect(error?.message.contains("silo 'shop' is already connected") == true)
                await #expect(throws: RPCError.self) { _ = try await federation.nextTask(.init()) }
                // Once the first connection has closed, the name is free again (a restarted client gets back in).
                closeFirst.yield()
                closeFirst.finish()
                try await first.value
                await coordinator.waitUntil { !$0.connectedClients.contains("shop") }
                _ = try await federation.join(WireFaultTests.joinRequest)
                client.beginGracefulShutdown()
            }
        }
        #expect(log.all.contains { $0.hasPrefix("refused Join from 'shop' (ipv4:127.0.0.1:") && $0.contains("alreadyExists: silo 'shop'") })
    }

    @Test func aModelIsServedPieceByPieceAndAPiecePastTheEndIsOutOfRange() async throws {
        // 5,000 items make a payload of several pieces.
        let coordinator = try Self.coordinator(CoordinatorConfig(rounds: 1, minClients: 1), items: 5_000)
        try await Self.withServer(coordinator) { connect in
            try await connect("news") { client in
                let federation = Fedattn_V1_Federation.Client(wrapping: client)
                _ = try await federation.join(WireFaultTests.joinRequest)
                let task = try await federation.nextTask(.init())
                let whole = try await coordinator.modelPiece(version: task.modelVersion, offset: 0, maxBytes: .max, for: "test").bytes
                #expect(whole.count > 300_000)

                // A download begins at offset 0: a later piece with none begun is refused, naming the client.
                let unbegun = await #expect(throws: RPCError.self) {
                    _ = try await federation.downloadModel(
                        .with {
                            $0.modelVersion = task.modelVersion; $0.offset = 10; $0.maxBytes = 1_000
                        })
                }
                #expect(unbegun?.code == .failedPrecondition && unbegun?.message.contains("client 'news'") == true, "\(String(describing: unbegun))")
                // However much is asked for, a piece is capped, so that no client can make the coordinator hold a whole model.
                let greedy = try await federation.downloadModel(
                    .with {
                        $0.modelVersion = task.modelVersion; $0.maxBytes = .max
                    })
                #expect(greedy.data.count == 127 << 10)
                #expect(greedy.data == whole.prefix(greedy.data.count))
                let asked = try await federation.downloadModel(
                    .with {
                        $0.modelVersion = task.modelVersion; $0.offset = 10; $0.maxBytes = 1_000
                    })
                #expect(asked.data == whole.subdata(in: 10..<1_010))
                #expect(asked.totalBytes == UInt64(whole.count))
                #expect(asked.offset == 10)
                let end = try await federation.downloadModel(
                    .with {
                        $0.modelVersion = task.modelVersion; $0.offset = UInt64(whole.count)
                    })
                #expect(end.data.isEmpty)

                let past = await #expect(throws: RPCError.self) {
                    _ = try await federation.downloadModel(
                        .with {
                            $0.modelVersion = task.modelVersion; $0.offset = UInt64(whole.count + 1)
                        })
                }
                #expect(past?.code == .outOfRange)
                let unknown = await #expect(throws: RPCError.self) {
                    _ = try await federation.downloadModel(.with { $0.modelVersion = String(repeating: "0", count: 64) })
                }
                #expect(unknown?.code == .notFound)
                client.beginGracefulShutdown()
            }
        }
    }

    /// Sends bytes as they are, in place of a protobuf message.
    struct RawBytes: MessageSerializer {
        func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    }

    /// Reads an answer's bytes as they are, whatever the method.
    struct RawAnswer: MessageDeserializer {
        func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
            serializedMessageBytes.withUnsafeBytes { Array($0) }
        }
    }

    /// Sends `bytes` as the one message of a call to `method` (or the only message of its
    /// stream), and returns how it was refused.
    static func refusal(
        of bytes: [UInt8], to method: MethodDescriptor, over client: GRPCClient<HTTP2ClientTransport.Posix>
    ) async -> RPCError? {
        typealias Method = Fedattn_V1_Federation.Method
        let streaming: Set<MethodDescriptor> = [Method.SecureStep.descriptor, Method.UploadUpdate.descriptor]
        do {
            if streaming.contains(method) {
                try await client.clientStreaming(
                    request: StreamingClientRequest { writer in try await writer.write(bytes) }, descriptor: method, serializer: RawBytes(),
                    deserializer: RawAnswer(), options: .defaults
                ) { _ = try $0.message }
            } else {
                try await client.unary(
                    request: ClientRequest(message: bytes), descriptor: method, serializer: RawBytes(), deserializer: RawAnswer(), options: .defaults
                ) { _ = try $0.message }
            }
            return nil
        } catch {
            return error as? RPCError ?? RPCError(code: .unknown, message: "\(error)")
        }
    }

    /// A message over the protocol's 4 MiB gets RESOURCE_EXHAUSTED naming the client and the
    /// method, on every method of the service (the transport would reset the stream: the
    /// client saw CANCELLED and no reason); one over the transport's 8 MiB is not read at all,
    /// and the connection carries on.
    @Test func aMessageOverTheLimitIsRefusedWithResourceExhaustedNamingTheClient() async throws {
        let log = LogLines()
        try await Self.withServer(try Self.coordinator(CoordinatorConfig(rounds: 1, minClients: 1)), log: log) { connect in
            try await connect("bulky") { client in
                let oversized = [UInt8](repeating: 0x0A, count: 5 << 20)
                for method in Fedattn_V1_Federation.Method.descriptors {
                    let error = await Self.refusal(of: oversized, to: method, over: client)
                    #expect(error?.code == .resourceExhausted, "\(method.method): \(String(describing: error))")
                    #expect(
                        error?.message.contains("a \(method.method) message of \(5 << 20) bytes from 'bulky', over the \(4 << 20) bytes") == true,
                        "\(method.method): \(String(describing: error))")
                }
                // Over the transport's own limit: the stream is reset, unread; the connection goes on.
                let huge = await Self.refusal(
                    of: [UInt8](repeating: 0x0A, count: 9 << 20), to: Fedattn_V1_Federation.Method.Join.descriptor, over: client)
                #expect(huge != nil)
                let federation = Fedattn_V1_Federation.Client(wrapping: client)
                let joined = try await federation.join(WireFaultTests.joinRequest)
                #expect(joined.limits.maxMessageBytes == 4 << 20)
                #expect(try await federation.nextTask(.init()).kind == .train)
                client.beginGracefulShutdown()
            }
        }
        #expect(log.all.contains { $0.hasPrefix("refused UploadUpdate from 'bulky'") && $0.contains("resourceExhausted") }, "\(log.all)")
    }

    /// Every refusal of a malformed or stale call says whose call it refuses.
    @Test func everyRefusalOnTheWireNamesTheClient() async throws {
        let coordinator = try Self.coordinator(CoordinatorConfig(rounds: 1, minClients: 1))
        try await Self.withServer(coordinator) { connect in
            try await connect("news") { client in
                let federation = Fedattn_V1_Federation.Client(wrapping: client)
                let task = try await Self.joinAndTrain(client, counting: Counter())
                let header = Self.header(for: task, bytes: 10)
                var stale = header
                stale.header.round = 9
                let data = { (count: Int) in Fedattn_V1_UpdateChunk.with { $0.data = Data(repeating: 1, count: count) } }
                let uploads: [(String, [Fedattn_V1_UpdateChunk])] = [
                    ("data before its header", [data(5)]), ("a second header", [header, header]), ("data past the 10 bytes", [header, data(11)]),
                    ("declared 10 bytes in its header but sent 5", [header, data(5)]), ("has no header", []),
                    ("for round 9, but round 1 is collecting", [stale]),
                ]
                for (why, chunks) in uploads {
                    let error = await #expect(throws: RPCError.self) {
                        _ = try await federation.uploadUpdate { writer in for chunk in chunks { try await writer.write(chunk) } }
                    }
                    #expect(error?.message.contains("'news'") == true && error?.message.contains(why) == true, "\(why): \(String(describing: error))")
                }
                var badBins = Wire.report(EvaluationReport(), round: 1, version: task.modelVersion)
                badBins.positiveHistogram = [1, 2, 3]
                let bins = await #expect(throws: RPCError.self) { _ = try await federation.reportEvaluation(badBins) }
                #expect(bins?.code == .invalidArgument && bins?.message.contains("evaluation from 'news'") == true, "\(String(describing: bins))")
                let early = await #expect(throws: RPCError.self) {
                    _ = try await federation.reportEvaluation(Wire.report(EvaluationReport(), round: 1, version: task.modelVersion))
                }
                #expect(early?.code == .aborted && early?.message.contains("evaluation from 'news'") == true, "\(String(describing: early))")
                let unknown = await #expect(throws: RPCError.self) {
                    _ = try await federation.downloadModel(.with { $0.modelVersion = String(repeating: "0", count: 64) })
                }
                #expect(unknown?.code == .notFound && unknown?.message.contains("client 'news'") == true, "\(String(describing: unknown))")
                client.beginGracefulShutdown()
            }
        }
    }

    /// The zstd window an update's frame asks for is bounded at Limits.max_zstd_window_log
    /// (2^23), whatever the payload's size: zstd's streaming default (2^21, no content size)
    /// is taken for a 60 KB model, and a wider window is refused naming the window.
    @Test func anUpdateIsTakenWithAnyZstdWindowUpToTheLimit() async throws {
        let coordinator = try Self.coordinator(CoordinatorConfig(rounds: 1, minClients: 1))
        let raw = try ZstdFrame.decompress(try Self.zeroUpdate(for: coordinator), maxOutput: 1 << 24)
        try await Self.withServer(coordinator) { connect in
            try await connect("stream") { client in
                let federation = Fedattn_V1_Federation.Client(wrapping: client)
                let task = try await Self.joinAndTrain(client, counting: Counter())
                let wide = try ZstdFrame.compressStreaming([raw], windowLog: Int32(ZstdFrame.maxWindowLog + 1))
                let refused = await #expect(throws: RPCError.self) { _ = try await Self.upload(wide, for: task, over: federation) }
                #expect(refused?.code == .resourceExhausted, "\(String(describing: refused))")
                #expect(
                    refused?.message.contains("update from 'stream'") == true && refused?.message.contains("window of \(1 << 24) bytes") == true,
                    "\(String(describing: refused))")
                let streamed = try ZstdFrame.compressStreaming([raw])
                #expect(try await Self.upload(streamed, for: task, over: federation).accepted)
                client.beginGracefulShutdown()
            }
        }
    }

    @Test func randomBytesInPlaceOfProtobufAreRefusedAndTheFederationCarriesOn() async throws {
        let log = LogLines()
        try await Self.withServer(try Self.coordinator(CoordinatorConfig(rounds: 1, minClients: 1)), log: log) { connect in
            try await connect("video") { client in
                var rng = SeededGenerator(seed: 9)
                // 0xFF bytes start fields of wire type 7, which does not exist: never valid protobuf.
                let garbage = [UInt8](repeating: 0xFF, count: 4) + (0..<4_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                let join = await #expect(throws: RPCError.self) {
                    try await client.unary(
                        request: ClientRequest(message: garbage), descriptor: Fedattn_V1_Federation.Method.Join.descriptor, serializer: RawBytes(),
                        deserializer: ProtobufDeserializer<Fedattn_V1_JoinResponse>(), options: .defaults
                    ) { _ = try $0.message }
                }
                #expect(join?.code == .invalidArgument)
                let upload = await #expect(throws: RPCError.self) {
                    try await client.clientStreaming(
                        request: StreamingClientRequest { writer in for _ in 0..<3 { try await writer.write(garbage) } },
                        descriptor: Fedattn_V1_Federation.Method.UploadUpdate.descriptor, serializer: RawBytes(),
                        deserializer: ProtobufDeserializer<Fedattn_V1_UploadReceipt>(), options: .defaults
                    ) { _ = try $0.message }
                }
                #expect(upload?.code == .invalidArgument)
                // The same connection still gets on with the federation.
                let federation = Fedattn_V1_Federation.Client(wrapping: client)
                _ = try await federation.join(WireFaultTests.joinRequest)
                #expect(try await federation.nextTask(.init()).kind == .train)
                client.beginGracefulShutdown()
            }
        }
        #expect(log.all.contains { $0.hasPrefix("refused Join from 'video'") && $0.contains("invalidArgument") })
        #expect(log.all.contains { $0.hasPrefix("refused UploadUpdate from 'video'") && $0.contains("invalidArgument") })
    }

    @Test func aClientDroppedMidUploadDoesNotHoldTheRound() async throws {
        // The deadline passes once the healthy client has uploaded and the other has dropped.
        let clock = ManualClock()
        let coordinator = try Self.coordinator(CoordinatorConfig(rounds: 1, minClients: 2, quorum: 1, roundTimeout: .seconds(20)), clock: clock)
        let update = try Self.zeroUpdate(for: coordinator)
        try await Self.withServer(coordinator) { connect in
            let bothJoined = Counter(), halfSent = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The doomed client: a header and half its data, then its process dies (its connection drops).
                group.addTask {
                    let dying = Task {
                        try await connect("dying") { client in
                            let task = try await Self.joinAndTrain(client, counting: bothJoined)
                            _ = try await Fedattn_V1_Federation.Client(wrapping: client).uploadUpdate { writer in
                                try await writer.write(Self.header(for: task, bytes: update.count))
                                try await writer.write(.with { $0.data = update.prefix(update.count / 2) })
                                halfSent.increment()
                                try await Task.sleep(for: .seconds(60))
                            }
                        }
                    }
                    // Dropped once half its update is sent (a fixed pause could end before it
                    // had even joined, on a loaded machine, and leave the healthy client waiting).
                    await halfSent.reach(1)
                    dying.cancel()
                    _ = await dying.result
                }
                group.addTask {
                    try await connect("healthy") { client in
                        let task = try await Self.joinAndTrain(client, counting: bothJoined)
                        await bothJoined.reach(2)
                        let receipt = try await Self.upload(update, for: task, over: Fedattn_V1_Federation.Client(wrapping: client))
                        #expect(receipt.accepted)
                        client.beginGracefulShutdown()
                    }
                }
                try await group.waitForAll()
            }
            // The round closes at its deadline on the quorum of one.
            clock.advance(by: .seconds(20))
            let history = await coordinator.history(beyond: 0)
            #expect(history.first?.participants == ["healthy"])
        }
    }

    @Test func uploadSlotsAreHandedOnAndStaleUpdatesRefusedAtReservation() async throws {
        // Nine selected clients; the coordinator reads eight uploads at once.
        let names = (1...9).map { "silo-\($0)" }
        let coordinator = try Self.coordinator(CoordinatorConfig(rounds: 1, minClients: names.count, roundTimeout: .seconds(30)))
        let update = try Self.zeroUpdate(for: coordinator)
        try await Self.withServer(coordinator) { connect in
            let joined = Counter(), granted = Counter(), turnedAway = Counter(), uploaded = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, name) in names.enumerated() {
                    group.addTask {
                        try await connect(name) { client in
                            let federation = Fedattn_V1_Federation.Client(wrapping: client)
                            let task = try await Self.joinAndTrain(client, counting: joined)
                            await joined.reach(names.count)
                            if index == 0 {
                                let stale = await #expect(throws: RPCError.self) {
                                    _ = try await federation.reserveUpload(
                                        .with {
                                            $0.round = 9; $0.baseVersion = task.modelVersion
                                        })
                                }
                                #expect(stale?.code == .aborted)
                            }
                            let reservation = Fedattn_V1_UploadReservation.with {
                                $0.round = task.round; $0.baseVersion = task.modelVersion
                            }
                            if index == names.count - 1 {
                                // The ninth asks once the other eight hold every slot: held a second, then told to come back.
                                await granted.reach(names.count - 1)
                                let started = ContinuousClock.now
                                #expect(try await federation.reserveUpload(reservation).granted == false)
                                #expect(ContinuousClock.now - started >= .milliseconds(900))
                                turnedAway.increment()
                                // Its turn comes as soon as one of them has uploaded.
                                await uploaded.reach(1)
                                #expect(try await federation.reserveUpload(reservation).granted)
                            } else {
                                #expect(try await federation.reserveUpload(reservation).granted)
                                granted.increment()
                                // Hold the slot until the ninth has been turned away once.
                                await turnedAway.reach(1)
                            }
                            let receipt = try await Self.upload(update, for: task, over: federation)
                            #expect(receipt.accepted)
                            uploaded.increment()
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(uploaded.value == names.count)
        }
    }

    /// A valid update that changes nothing.
    static func zeroUpdate(for coordinator: Coordinator) throws -> Data {
        let layout = AttentionModel.layout(for: coordinator.modelConfig)
        return try TensorPayload.encode(SparseWeights(Weights(zerosLike: layout), sparseTensors: []), precision: .float16)
    }

    /// The header of an update of `bytes` bytes for `task`.
    static func header(for task: Fedattn_V1_Task, bytes: Int) -> Fedattn_V1_UpdateChunk {
        .with {
            $0.header = .with {
                $0.round = task.round; $0.baseVersion = task.modelVersion; $0.exampleCount = 10
                $0.totalBytes = UInt64(bytes)
            }
        }
    }

    /// Uploads `update` whole, straight away (no reservation).
    static func upload(
        _ update: Data, for task: Fedattn_V1_Task, over federation: Fedattn_V1_Federation.Client<HTTP2ClientTransport.Posix>
    ) async throws -> Fedattn_V1_UploadReceipt {
        try await federation.uploadUpdate { writer in
            try await writer.write(Self.header(for: task, bytes: update.count))
            try await writer.write(.with { $0.data = update })
        }
    }

    /// Joins, then asks for tasks until one says train.
    static func joinAndTrain(_ client: GRPCClient<HTTP2ClientTransport.Posix>, counting joined: Counter) async throws -> Fedattn_V1_Task {
        let federation = Fedattn_V1_Federation.Client(wrapping: client)
        _ = try await federation.join(WireFaultTests.joinRequest)
        joined.increment()
        while true {
            let task = try await federation.nextTask(.init())
            if task.kind == .train { return task }
            try await Task.sleep(for: .milliseconds(Int(task.retryAfterMs)))
        }
    }
}

/// A certificate's name is a silo's identity in every log line and record: one that is not a
/// silo name is refused at its first call, and cannot write a line of its own in the log.
struct SiloNameTests {
    @Test func aCertificateNameThatIsNotASiloNameIsRefusedAndCannotForgeALogLine() async throws {
        let log = LogLines()
        let coordinator = try WireFaultTests.coordinator(CoordinatorConfig(rounds: 1, minClients: 2))
        let names = [
            "shop\nrefused Join from 'bank': forged", "SILO-09", "silo-09 ", "../../etc/passwd", String(repeating: "a", count: 300), "silo\u{0}x",
        ]
        try await WireFaultTests.withServer(coordinator, log: log) { connect in
            for name in names {
                try await connect(name) { client in
                    let error = await #expect(throws: RPCError.self) {
                        _ = try await Fedattn_V1_Federation.Client(wrapping: client).join(WireFaultTests.joinRequest)
                    }
                    #expect(error?.code == .permissionDenied, "\(String(describing: error))")
                    #expect(error?.message.contains("is not a silo name") == true)
                    client.beginGracefulShutdown()
                }
            }
            // A silo name still joins; a field it sends that a refusal quotes (a model version)
            // is escaped in the log too.
            try await connect("silo-09") { client in
                let federation = Fedattn_V1_Federation.Client(wrapping: client)
                _ = try await federation.join(WireFaultTests.joinRequest)
                await #expect(throws: RPCError.self) {
                    _ = try await federation.downloadModel(.with { $0.modelVersion = "x\nrefused Join from 'bank': forged" })
                }
                client.beginGracefulShutdown()
            }
        }
        let connected = await coordinator.connectedClients
        #expect(!connected.contains { names.contains($0) }, "\(connected)")
        // Every line is one line, none starts with the forged text, none holds a name unescaped.
        let lines = log.all
        #expect(lines.count >= names.count)
        #expect(lines.contains { $0.hasPrefix("refused DownloadModel from 'silo-09'") && $0.contains("x\\nrefused Join") }, "\(lines)")
        #expect(!lines.contains { $0.contains("\n") || $0.contains("\u{0}") || $0.hasPrefix("refused Join from 'bank'") }, "\(lines)")
        #expect(!lines.contains { $0.contains(String(repeating: "a", count: 65)) })
        #expect(SiloName.problem(with: "silo-09") == nil && SiloName.problem(with: "retail.eu-1") == nil)
    }
}
