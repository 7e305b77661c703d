import FedAttnAggregation
import FedAttnCodec
import FedAttnCore
import FedAttnData
import FedAttnFederation
import FedAttnModel
import FedAttnSecAgg
import FedAttnSimulation
import FedAttnTransport
import Foundation
import GRPCCore
import Testing
import _FedAttnTestSupport

/// A silo sending the same prepared delta every round (no training).
private struct PreparedDelta: LocalWork {
    let payload: Data
    let trainExamples: Int

    init(layout: ParameterLayout, seed: UInt64, examples: Int) throws {
        var delta = Weights(zerosLike: layout)
        var rng = SeededGenerator(seed: seed)
        let width = layout.tensors[0].shape[1]
        for row in 1..<layout.tensors[0].shape[0] where rng.nextUnit() < 0.3 {
            for j in 0..<width { delta.values[row * width + j] = Float(rng.nextNormal() * 0.01) }
        }
        for i in layout.tensors[0].elementCount..<layout.count { delta.values[i] = Float(rng.nextNormal() * 0.01) }
        payload = try TensorPayload.encode(SparseWeights(delta, sparseTensors: [AttentionModel.TensorName.items]), precision: .float16)
        trainExamples = examples
    }

    func train(from global: GlobalModel, plan: LocalTrainingPlan, round: Int, progress: @escaping @Sendable (Int, Int) -> Void) async throws
        -> LocalUpdate
    {
        LocalUpdate(payload: payload, examples: trainExamples, trainSeconds: 0, meanLoss: 0)
    }

    func evaluate(_ global: GlobalModel) async throws -> EvaluationReport { EvaluationReport() }
}

/// Secure aggregation over real gRPC with mutual TLS on 127.0.0.1 (protocol 8).
struct SecureTransportTests {
    /// The masked vectors cross the wire packed to the ring's bits (22 for 3 clients): the
    /// model published is plain FedAvg's within the quantiser's bound.
    @Test func aSecureRoundOverTheWirePublishesPlainFedAvgsModel() async throws {
        let model = Fixtures.syntheticConfig
        let layout = AttentionModel.layout(for: model)
        let works = try (0..<3).map { try PreparedDelta(layout: layout, seed: UInt64(10 + $0), examples: 100 * ($0 + 1)) }
        func federate(secure: Bool, grpc: Bool) async throws -> AttentionModel {
            var config = CoordinatorConfig(rounds: 1, minClients: 3, plan: LocalTrainingPlan(proximalMu: 0), server: ServerOptimizer(rule: .fedavg))
            config.secureAggregation = secure ? SecureAggregationSettings() : nil
            let coordinator = try Coordinator(modelConfig: model, config: config, initialModel: try AttentionModel(config: model, seed: 0))
            guard grpc else {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (i, work) in works.enumerated() {
                        group.addTask {
                            // Fixed draws: indicator values that cancel by chance would drop a row.
                            try await Participant(work: work, secureDrawSeed: UInt64(i + 1)).run(
                                link: InProcessLink(coordinator: coordinator, client: "s\(i)"), expectedModel: model)
                        }
                    }
                    try await group.waitForAll()
                }
                return await coordinator.currentModel
            }
            try await TransportTests.withServer(coordinator) { port, authority in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (i, work) in works.enumerated() {
                        let identity = try authority.clientIdentity(name: "s\(i)")
                        group.addTask {
                            try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) { link in
                                try await Participant(work: work, secureDrawSeed: UInt64(i + 1)).run(link: link, expectedModel: model)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            return await coordinator.currentModel
        }
        let plain = try await federate(secure: false, grpc: false)
        let secure = try await federate(secure: true, grpc: true)
        let gap = zip(plain.parameters.values, secure.parameters.values).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(gap <= 3 * SecureAggregationSettings().quantizer.step + 5e-5, "largest difference \(gap)")
        let initial = try AttentionModel(config: model, seed: 0)
        let moved = zip(initial.parameters.values, secure.parameters.values).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(moved > 1e-3)
    }

    @Test func aSecureFederationOverMutualTLSImprovesItsPooledAUC() async throws {
        var config = CoordinatorConfig(rounds: 2, minClients: 3)
        config.secureAggregation = SecureAggregationSettings()
        let simulation = Simulation(silos: TransportTests.silos(3), modelConfig: Fixtures.syntheticConfig, config: config, link: .grpc)
        let report = try await simulation.run()
        #expect(report.rounds.map(\.round) == [1, 2])
        #expect(report.rounds.allSatisfy { $0.clients == 3 })
        let first = try #require(report.rounds[0].testAUC), second = try #require(report.rounds[1].testAUC)
        #expect(second > first)
    }

    /// A hostile secure step is refused with a status naming the fault, and nothing else of
    /// the round changes; a whole update is refused in a secure federation.
    @Test func malformedSecureStepsAreRefused() async throws {
        var config = CoordinatorConfig(rounds: 1, minClients: 1)
        config.secureAggregation = SecureAggregationSettings()
        let coordinator = try Coordinator(
            modelConfig: Fixtures.syntheticConfig, config: config, initialModel: try AttentionModel(config: Fixtures.syntheticConfig, seed: 0))
        try await TransportTests.withServer(coordinator) { port, authority in
            // Two more silos joined in process: a secure round needs three.
            for other in ["silo-2", "silo-3"] {
                try await coordinator.join(client: other, protocolVersion: Coordinator.protocolVersion, trainExamples: 500)
            }
            let identity = try authority.clientIdentity(name: "silo-1")
            try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) { link in
                _ = try await link.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
                guard case .train(1, let version, let plan) = try await link.nextTask(lastRound: 0), let secure = plan.secure else {
                    Issue.record("no secure training task")
                    return
                }
                #expect(secure.clients == 3 && (0..<3).contains(secure.id) && abs(secure.weight - 0.5) < 1e-6, "weights by declared examples")
                // Keys of 16 bytes: not X25519 keys.
                var reply = SecureReply(round: 1, attempt: secure.attempt, phase: .advertise)
                reply.baseVersion = version
                reply.examples = 100
                reply.keys = [0, 1].map { _ in AdvertisedKeys(client: secure.id, encryptionKey: Data(count: 16), maskingKey: Data(count: 16)) }
                let short = await #expect(throws: RPCError.self) { try await link.sendSecure(reply) }
                #expect(short?.code == .invalidArgument)
                #expect(short?.message.contains("32-byte X25519 keys") == true, "\(short?.message ?? "")")
                // The all-zero point: of small order, every secret agreed with it would be zero.
                reply.keys = [0, 1].map { sum in
                    AdvertisedKeys(
                        client: secure.id, encryptionKey: sum == 0 ? Data(count: 32) : Data(repeating: 3, count: 32),
                        maskingKey: Data(repeating: UInt8(sum + 1), count: 32))
                }
                let weak = await #expect(throws: RPCError.self) { try await link.sendSecure(reply) }
                #expect(weak?.code == .invalidArgument && weak?.message.contains("small order") == true, "\(String(describing: weak))")
                // A masked vector for a phase not under way: stale.
                var early = SecureReply(round: 1, attempt: secure.attempt, phase: .maskValues)
                early.masked = [1, 2, 3]
                await #expect(throws: CoordinatorError.self) { try await link.sendSecure(early) }
                // A whole update: never uploaded in a secure federation.
                let upload = await #expect(throws: RPCError.self) {
                    _ = try await link.uploadUpdate(round: 1, baseVersion: version, examples: 10, trainSeconds: 0, payload: Data([1, 2, 3]))
                }
                #expect(upload?.message.contains("secure aggregation") == true)
            }
        }
    }
}
