import FedAttnFederation
import FedAttnProtocol
import FedAttnTransport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
import Testing
import _FedAttnTestSupport

/// The standard gRPC health service (grpc.health.v1) on the coordinator's own port, over real
/// mutual TLS on 127.0.0.1, asked as Kubernetes' gRPC probe, grpc_health_probe or a load
/// balancer asks it: Check answers for the server ("") and the federation service, NOT_FOUND
/// for any other name; Watch hears each change as the readiness changes, SERVICE_UNKNOWN for
/// a name it does not know, and ends as the server stops. A probe is no silo: it joins
/// nothing, and the allow-list, which refuses it every federation call, lets it ask.
struct HealthServiceTests {
    typealias Health = Grpc_Health_V1_Health.Client<HTTP2ClientTransport.Posix>
    typealias ServingStatus = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    /// Runs `body` with a health client of the coordinator at `port`, presenting `identity`
    /// (its certificate and key, trusting its CA).
    static func withHealthClient<T: Sendable>(
        port: Int, identity: FederationIdentity, _ body: @Sendable (Health) async throws -> T
    ) async throws -> T {
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port),
            transportSecurity: .mTLS(
                certificateChain: [.bytes(Array(identity.certificatePEM.utf8), format: .pem)],
                privateKey: .bytes(Array(identity.privateKeyPEM.utf8), format: .pem)
            ) { $0.trustRoots = .certificates([.bytes(Array(identity.caCertificatePEM.utf8), format: .pem)]) })
        return try await withGRPCClient(transport: transport) { client in try await body(Health(wrapping: client)) }
    }

    /// What Check answers for `service`.
    static func check(_ health: Health, _ service: String) async throws -> ServingStatus {
        let response = try await health.check(.with { $0.service = service })
        return response.status
    }

    /// Every status a Watch of `service` hears, until its stream ends; `heardFirst` counts
    /// the watches that heard their first (so the server holds them).
    static func watch(_ health: Health, _ service: String, heardFirst: Counter) async throws -> [ServingStatus] {
        try await health.watch(.with { $0.service = service }) { response in
            var heard: [ServingStatus] = []
            for try await message in response.messages {
                heard.append(message.status)
                if heard.count == 1 { heardFirst.increment() }
            }
            return heard
        }
    }

    /// What serve's readiness makes of the health status: SERVING from listening, a complete
    /// federation included, NOT_SERVING once asked to stop, never overturned by a late
    /// `listening`; the state folder plays no part (it is `/readyz`'s alone).
    /// Watch calls past the cap are refused (each holds a stream and a task, and any
    /// certificate of the federation may open them); one that ends makes room again.
    @Test func watchersPastTheCapAreRefusedUntilOneEnds() async {
        let status = HealthStatus(.serving, maxWatchers: 2)
        let first = status.changesIfRoom(), second = status.changesIfRoom()
        #expect(first != nil && second != nil)
        #expect(status.changesIfRoom() == nil)
        // The first watcher reads its status and goes away: its place is free again.
        var reading = first?.makeAsyncIterator()
        #expect(await reading?.next() == .serving)
        reading = nil
        _ = consume first
        #expect(status.changesIfRoom() != nil)
    }

    @Test func theHealthStatusFollowsServesReadiness() {
        let readiness = ServingReadiness(stateFolder: "/nonexistent/fedattn-state")
        #expect(readiness.health.current == .notServing)
        readiness.listening(at: "127.0.0.1:7443")
        #expect(readiness.health.current == .serving)
        #expect(!readiness.readiness.isReady)  // no state folder: /readyz says 503
        readiness.complete("1 round, round 1 kept (best.safetensors)")
        #expect(readiness.health.current == .serving)
        readiness.stopping("asked to stop (SIGTERM)")
        #expect(readiness.health.current == .notServing)
        readiness.listening(at: "127.0.0.1:7443")
        #expect(readiness.health.current == .notServing)
    }

    @Test func checkAnswersForTheServerAndTheFederationAndNotFoundForAnyOtherName() async throws {
        let folder = try Fixtures.temporaryFolder()
        let members = folder + "/members.txt"
        try "shop\n".write(toFile: members, atomically: true, encoding: .utf8)
        let lines = LogLines()
        let membership = try Membership(membersFile: members, revokedFile: nil, logger: lines.logger)
        let authority = try DevCertificateAuthority()
        // Signed by the federation's CA, but not a member: the allow-list does not name it.
        let probe = try authority.clientIdentity(name: "probe")
        let coordinator = try TransportTests.coordinator()
        try await withCoordinatorServer(
            coordinator, host: "127.0.0.1", port: 0, security: .mutualTLS(try authority.serverIdentity()), logger: lines.logger,
            membership: membership
        ) { port in
            try await Self.withHealthClient(port: port, identity: probe) { health in
                let server = try await Self.check(health, ""), federation = try await Self.check(health, "fedattn.v1.Federation")
                #expect(server == .serving)
                #expect(federation == .serving)
                let error = await #expect(throws: RPCError.self) { _ = try await Self.check(health, "fedattn.v1.Elsewhere") }
                #expect(error?.code == .notFound)
                #expect(
                    error?.message
                        == "no service \"fedattn.v1.Elsewhere\" here: health is answered for \"\" (the whole server) and \"fedattn.v1.Federation\"",
                    "\(String(describing: error))")
            }
            // Refused and logged as any call, with the name its certificate gives.
            #expect(await lines.waitFor { $0.hasPrefix("refused Check from 'probe' (ipv4:127.0.0.1:") && $0.contains("notFound: no service") })
            // The probe joined nothing; as a silo, the allow-list refuses it still.
            #expect(await coordinator.connectedClients.isEmpty)
            let refused = await #expect(throws: RPCError.self) { _ = try await MembershipTests.join(port, as: probe) }
            #expect(refused?.code == .permissionDenied)
        }
    }

    @Test func watchHearsServingThenNotServingWhenTheCoordinatorIsAskedToStop() async throws {
        let readiness = ServingReadiness(stateFolder: try Fixtures.temporaryFolder())
        let authority = try DevCertificateAuthority()
        try await withCoordinatorServer(
            try TransportTests.coordinator(), host: "127.0.0.1", port: 0, security: .mutualTLS(try authority.serverIdentity()),
            health: readiness.health
        ) { port in
            try await Self.withHealthClient(port: port, identity: try authority.clientIdentity(name: "probe")) { health in
                // As serve has it: not serving until it says it listens.
                #expect(try await Self.check(health, "") == .notServing)
                readiness.listening(at: "127.0.0.1:\(port)")
                #expect(try await Self.check(health, "") == .serving)
                // A complete federation still serves its kept model.
                readiness.complete("1 round, round 1 kept (best.safetensors)")
                #expect(try await Self.check(health, "fedattn.v1.Federation") == .serving)

                // The stop is asked for once the watch has heard SERVING: it hears the change.
                let heard = try await health.watch(.with { $0.service = "fedattn.v1.Federation" }) { response in
                    var statuses: [ServingStatus] = []
                    for try await message in response.messages {
                        statuses.append(message.status)
                        if message.status == .serving { readiness.stopping("asked to stop (SIGTERM)") }
                        if message.status != .serving { break }
                    }
                    return statuses
                }
                #expect(heard == [.serving, .notServing])
                #expect(try await Self.check(health, "") == .notServing)
            }
        }
    }

    @Test func theServersStopEndsEveryWatchNotServingLastAndAnUnknownNameHearsServiceUnknown() async throws {
        let authority = try DevCertificateAuthority()
        let security = TransportSecurity.mutualTLS(try authority.serverIdentity())
        let probe = try authority.clientIdentity(name: "probe")
        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        let (stops, stop) = AsyncStream.makeStream(of: Void.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The server, with no health source: SERVING while it runs. It stops when told.
            group.addTask {
                try await withCoordinatorServer(try TransportTests.coordinator(), host: "127.0.0.1", port: 0, security: security) { bound in
                    port.yield(bound)
                    for await _ in stops { break }
                }
            }
            var bound = ports.makeAsyncIterator()
            let first = await bound.next()
            let serverPort = try #require(first)
            try await Self.withHealthClient(port: serverPort, identity: probe) { health in
                let heardFirst = Counter()
                async let whole = Self.watch(health, "", heardFirst: heardFirst)
                async let unknown = Self.watch(health, "grpc.health.v1.Elsewhere", heardFirst: heardFirst)
                await heardFirst.reach(2)
                stop.yield()
                // Each stream ends by itself as the server stops, the known one NOT_SERVING last.
                let wholeHeard = try await whole
                let unknownHeard = try await unknown
                #expect(wholeHeard == [.serving, .notServing])
                #expect(unknownHeard == [.serviceUnknown])
            }
            try await group.waitForAll()
        }
    }

    /// The coordinator's own certificate is for serving only (no client authentication): TLS
    /// refuses it from a caller, so a probe on the coordinator's machine needs a client
    /// certificate of its own (docs/operations.md, "Health checking").
    @Test func theCoordinatorsOwnCertificateCannotProbe() async throws {
        let lines = LogLines()
        let authority = try DevCertificateAuthority()
        let server = try authority.serverIdentity()
        try await withCoordinatorServer(
            try TransportTests.coordinator(), host: "127.0.0.1", port: 0, security: .mutualTLS(server), logger: lines.logger
        ) { port in
            try await Self.withHealthClient(port: port, identity: server) { health in
                var once = CallOptions.defaults
                once.waitForReady = false
                await #expect(throws: RPCError.self) { _ = try await health.check(.with { $0.service = "" }, options: once) }
            }
            #expect(
                await lines.waitFor { $0.hasPrefix("refused connection from ipv4:127.0.0.1:") && $0.contains("TLS handshake failed") },
                "\(lines.all)")
        }
    }
}
