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

/// Secure aggregation over real gRPC with mutual TLS on 127.0.0.1 (protocol 8).
struct SecureTransportTests {
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
                #expect(secure.clients == 3 && secure.id == 2 && abs(secure.weight - 0.5) < 1e-6, "ids in join order, weights by declared examples")
                // Keys of 16 bytes: not X25519 keys.
                var reply = SecureReply(round: 1, attempt: secure.attempt, phase: .advertise)
                reply.baseVersion = version
                reply.examples = 100
                reply.keys = [0, 1].map { _ in AdvertisedKeys(client: secure.id, encryptionKey: Data(count: 16), maskingKey: Data(count: 16)) }
                let short = await #expect(throws: RPCError.self) { try await link.sendSecure(reply) }
                #expect(short?.code == .invalidArgument)
                #expect(short?.message.contains("32-byte X25519 keys") == true, "\(short?.message ?? "")")
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
