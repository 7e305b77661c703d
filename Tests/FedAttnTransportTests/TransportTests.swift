import FedAttnData
import FedAttnFederation
import FedAttnModel
import FedAttnProtocol
import FedAttnSimulation
import FedAttnTransport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
import Testing
import _FedAttnTestSupport

/// The coordinator and clients over real gRPC on 127.0.0.1, with certificates made fresh
/// for each test. Every server a test starts stops when the test's scope ends.
struct TransportTests {
    static func silos(_ count: Int) -> [SimulatedSilo] {
        let log = SyntheticGenerator(config: Fixtures.syntheticData).generate()
        return SiloSplitter(silos: count, scheme: .iid, seed: 1).split(log).enumerated().map { i, part in
            let (train, test) = ExampleBuilder().build(part)
            return SimulatedSilo(name: "silo-\(i)", train: train, test: test)
        }
    }

    static func coordinator(rounds: Int = 2, minClients: Int = 1) throws -> Coordinator {
        try Coordinator(
            modelConfig: Fixtures.syntheticConfig, config: CoordinatorConfig(rounds: rounds, minClients: minClients),
            initialModel: try AttentionModel(config: Fixtures.syntheticConfig, seed: 0))
    }

    @Test func aThreeSiloFederationOverMutualTLSImprovesItsPooledAUC() async throws {
        let simulation = Simulation(
            silos: Self.silos(3), modelConfig: Fixtures.syntheticConfig, config: CoordinatorConfig(rounds: 2), link: .grpc)
        let report = try await simulation.run()
        #expect(report.link == "grpc")
        #expect(report.rounds.map(\.round) == [1, 2])
        #expect(report.rounds.allSatisfy { $0.clients == 3 })
        let first = try #require(report.rounds[0].testAUC), second = try #require(report.rounds[1].testAUC)
        #expect(second > first)
        #expect(report.rounds.allSatisfy { $0.bytesUpPerClient > 0 && Double($0.bytesUpPerClient) < 0.75 * Double(report.modelBytesFloat32) })
    }

    /// Runs `body` against a coordinator served with a fresh CA; returns that CA.
    static func withServer(_ coordinator: Coordinator, _ body: @Sendable (_ port: Int, _ authority: DevCertificateAuthority) async throws -> Void)
        async throws
    {
        let authority = try DevCertificateAuthority()
        let server = try authority.serverIdentity()
        try await withCoordinatorServer(coordinator, host: "127.0.0.1", port: 0, security: .mutualTLS(server)) { port in
            try await body(port, authority)
        }
    }

    @Test func aClientWithoutACertificateIsRefused() async throws {
        try await Self.withServer(try Self.coordinator()) { port, authority in
            // TLS that trusts the coordinator but presents no certificate of its own.
            let error = await #expect(throws: RPCError.self) {
                try await withPlainTLSLink(port: port, trusting: authority.certificatePEM) {
                    try await $0.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
                }
            }
            #expect(error?.code == .unavailable)
        }
    }

    @Test func aCertificateFromAnotherCAIsRefused() async throws {
        try await Self.withServer(try Self.coordinator()) { port, authority in
            let stranger = try DevCertificateAuthority(name: "Some other CA")
            let foreign = try stranger.clientIdentity(name: "silo-x")
            // It trusts the real coordinator, but its own certificate is signed by a stranger.
            let identity = FederationIdentity(
                certificatePEM: foreign.certificatePEM, privateKeyPEM: foreign.privateKeyPEM, caCertificatePEM: authority.certificatePEM)
            let error = await #expect(throws: RPCError.self) {
                try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) {
                    try await $0.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
                }
            }
            #expect(error?.code == .unavailable)
        }
    }

    @Test func anExpiredCertificateIsRefusedAtTheHandshake() async throws {
        try await Self.withServer(try Self.coordinator()) { port, authority in
            let expired = try authority.clientIdentity(name: "silo-old", validity: -3_600)
            let error = await #expect(throws: RPCError.self) {
                try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(expired)) {
                    try await $0.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
                }
            }
            #expect(error?.code == .unavailable)
        }
    }

    /// A client of a version the coordinator does not speak (8, before the two before; 12,
    /// after) is refused naming its version and the three the coordinator speaks; one of 9
    /// joins, answered in 9.
    @Test func aProtocolMismatchIsRefusedNamingTheVersionsSpoken() async throws {
        try await Self.withServer(try Self.coordinator()) { port, authority in
            let identity = try authority.clientIdentity(name: "silo-1")
            for version in [Coordinator.protocolVersion - 3, Coordinator.protocolVersion + 1] {
                // FAILED_PRECONDITION on the wire; the link hears it as a protocol mismatch.
                let error = await #expect(throws: CoordinatorError.self) {
                    try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) {
                        try await $0.join(protocolVersion: version, trainExamples: 1_000)
                    }
                }
                #expect(error?.kind == .protocolMismatch)
                #expect(
                    error?.message.contains("client 'silo-1' speaks version \(version); this coordinator speaks versions 11, 10 and 9") == true,
                    "\(String(describing: error))")
            }
            let old = try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) {
                try await $0.join(protocolVersion: 9, trainExamples: 1_000)
            }
            #expect(old.popularity == .unspecified && old.clientID == "silo-1")
        }
    }

    @Test func theCertificateNameIsTheClientsIdentity() async throws {
        try await Self.withServer(try Self.coordinator()) { port, authority in
            let identity = try authority.clientIdentity(name: "video-service")
            let info = try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) {
                try await $0.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
            }
            #expect(info.clientID == "video-service")
            #expect(info.model == Fixtures.syntheticConfig)
        }
    }

    /// A DP-SGD plan crosses the wire whole: a client that dropped it would train without the
    /// noise the coordinator accounts for.
    @Test func anExampleLevelDPPlanReachesTheClient() async throws {
        let privacy = ExamplePrivacy(noise: .targetEpsilon(2), clipNorm: 0.7, rowLearningRate: 0.02)
        let coordinator = try Coordinator(
            modelConfig: Fixtures.syntheticConfig, config: CoordinatorConfig(rounds: 3, minClients: 1, examplePrivacy: privacy),
            initialModel: try AttentionModel(config: Fixtures.syntheticConfig, seed: 0))
        let expected = try #require(privacy.noiseMultiplier(examples: 5_000, plan: LocalTrainingPlan(), rounds: 3))
        try await Self.withServer(coordinator) { port, authority in
            let identity = try authority.clientIdentity(name: "silo-1")
            let task = try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) { link in
                _ = try await link.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 5_000)
                return try await link.nextTask(lastRound: 0)
            }
            guard case .train(1, _, let plan) = task, let dp = plan.privacy else { Issue.record("no DP-SGD training task: \(task)"); return }
            #expect(dp.clipNorm == 0.7 && dp.rowLearningRate == 0.02)
            #expect(dp.noiseMultiplier == Float(expected), "the silo's own noise multiplier for 5,000 examples")
        }
    }

    @Test func plaintextIsRefusedOffLoopback() {
        #expect(throws: TransportError.insecureNotLoopback("10.0.0.5")) { try TransportSecurity.insecureLoopback.check(host: "10.0.0.5") }
        #expect(throws: Never.self) { try TransportSecurity.insecureLoopback.check(host: "127.0.0.1") }
    }

    /// ABORTED on the wire; the link hands it to the participant as the coordinator's own
    /// `staleUpdate`, which it drops and carries on from.
    @Test func aStaleUpdateIsRefusedWithAborted() async throws {
        let coordinator = try Self.coordinator()
        try await Self.withServer(coordinator) { port, authority in
            let identity = try authority.clientIdentity(name: "silo-1")
            let error = await #expect(throws: CoordinatorError.self) {
                try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) { link in
                    _ = try await link.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
                    return try await link.uploadUpdate(round: 9, baseVersion: "feed", examples: 10, trainSeconds: 0, payload: Data([1, 2, 3]))
                }
            }
            guard let why = error?.message(if: .stale) else { Issue.record("not stale: \(String(describing: error))"); return }
            #expect(why.contains("round 9"))
        }
    }
}

struct SlowClientTests {
    @Test(.timeLimit(.minutes(10))) func anUploadThatStallsIsCutOffAndTheRoundCarriesOn() async throws {
        let coordinator = try Coordinator(
            modelConfig: Fixtures.syntheticConfig, config: CoordinatorConfig(rounds: 1, minClients: 1, uploadTimeout: .milliseconds(300)),
            initialModel: try AttentionModel(config: Fixtures.syntheticConfig, seed: 0))
        try await WireFaultTests.withServer(coordinator) { connect in
            try await connect("slow") { client in
                let federation = Fedattn_V1_Federation.Client(wrapping: client)
                _ = try await federation.join(WireFaultTests.joinRequest)
                let round = try await federation.nextTask(.init())
                let error = await #expect(throws: RPCError.self) {
                    _ = try await federation.uploadUpdate { writer in
                        // A header promising data for the round under way, then silence.
                        try await writer.write(
                            .with {
                                $0.header = .with {
                                    $0.round = round.round; $0.baseVersion = round.modelVersion; $0.totalBytes = 1_000; $0.exampleCount = 1
                                }
                            })
                        // Silent until the coordinator cuts the call off (gRPC then cancels this writer).
                        try await Task.sleep(for: .seconds(3_600))
                    }
                }
                #expect(error?.code == .deadlineExceeded)
                // The coordinator still answers.
                let task = try await federation.nextTask(.init())
                #expect(task.kind == .train)
            }
        }
    }
}
