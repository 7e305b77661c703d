import FedAttnFederation
import FedAttnModel
import FedAttnSimulation
import FedAttnTransport
import Foundation
import Synchronization
import Testing
import _FedAttnTestSupport

/// A TLS handshake that cannot succeed is named on both sides, and the client stops at once
/// instead of retrying for ten minutes as if the network were down.
struct HandshakeFailureTests {

    /// Serves with `server` security, runs a client session with `client` security, and
    /// returns what the client was told and what the coordinator logged (once it has logged a
    /// line holding `coordinatorSays`, which may come a moment after the client gave up).
    static func attempt(server: TransportSecurity, client: TransportSecurity, name: String? = nil, coordinatorSays: String? = nil) async throws -> (
        client: String, coordinator: [String]
    ) {
        let lines = LogLines()
        let silo = TransportTests.silos(1)[0]
        let clientSaw: String = try await withCoordinatorServer(
            try TransportTests.coordinator(), host: "127.0.0.1", port: 0, security: server, logger: lines.logger
        ) { port in
            let session = ClientSession(host: "127.0.0.1", port: port, security: client, insecureName: name, retryFor: .seconds(600))
            let started = ContinuousClock.now
            do {
                try await session.run(Participant(train: silo.train, test: silo.test), expectedModel: Fixtures.syntheticConfig)
                return "joined"
            } catch {
                #expect((error as? ClientSessionError)?.handshakeFailure != nil, "\(error)")
                #expect(ContinuousClock.now - started < .seconds(300))  // not retried for its 600 s
                return "\(error)"
            }
        }
        if let coordinatorSays { _ = await lines.waitFor { $0.contains(coordinatorSays) } }
        return (clientSaw, lines.all)
    }

    /// `identity`'s certificate and key, trusting `caPEM` instead of its own CA.
    static func identity(_ identity: FederationIdentity, trusting caPEM: String) -> FederationIdentity {
        FederationIdentity(certificatePEM: identity.certificatePEM, privateKeyPEM: identity.privateKeyPEM, caCertificatePEM: caPEM)
    }

    @Test func aClientCertificateFromAnotherCA() async throws {
        let authority = try DevCertificateAuthority(), stranger = try DevCertificateAuthority(name: "Other CA")
        let foreign = Self.identity(try stranger.clientIdentity(name: "silo-x"), trusting: authority.certificatePEM)
        let (client, coordinator) = try await Self.attempt(
            server: .mutualTLS(try authority.serverIdentity()), client: .mutualTLS(foreign),
            coordinatorSays: "the client's certificate is not signed by the federation CA")
        #expect(client.contains("the coordinator does not trust this client's certificate: it was issued by another CA"))
        #expect(
            coordinator.contains {
                $0.contains("refused connection from ipv4:127.0.0.1:") && $0.contains("the client's certificate is not signed by the federation CA")
            }, "\(coordinator)")
    }

    @Test func aClientThatTrustsAnotherCA() async throws {
        let authority = try DevCertificateAuthority(), stranger = try DevCertificateAuthority(name: "Other CA")
        let mine = Self.identity(try authority.clientIdentity(name: "silo-1"), trusting: stranger.certificatePEM)
        let (client, coordinator) = try await Self.attempt(
            server: .mutualTLS(try authority.serverIdentity()), client: .mutualTLS(mine),
            coordinatorSays: "the client does not trust the coordinator's certificate")
        #expect(client.contains("the coordinator's certificate was not accepted: it is not signed by the CA in --ca"))
        #expect(coordinator.contains { $0.contains("the client does not trust the coordinator's certificate") }, "\(coordinator)")
    }

    @Test func anExpiredClientCertificate() async throws {
        let authority = try DevCertificateAuthority()
        let (client, _) = try await Self.attempt(
            server: .mutualTLS(try authority.serverIdentity()), client: .mutualTLS(try authority.clientIdentity(name: "silo-1", validity: -60)))
        #expect(client.contains("refused this client's certificate as expired"))
    }

    @Test func aCoordinatorCertificateForAnotherHost() async throws {
        let authority = try DevCertificateAuthority()
        let (client, _) = try await Self.attempt(
            server: .mutualTLS(try authority.serverIdentity(hosts: ["10.1.2.3"])), client: .mutualTLS(try authority.clientIdentity(name: "silo-1")))
        #expect(client.contains("does not name the host dialled"), "\(client)")
    }

    @Test func plaintextAgainstTLSAndTLSAgainstPlaintext() async throws {
        let authority = try DevCertificateAuthority()
        let (plainClient, coordinator) = try await Self.attempt(
            server: .mutualTLS(try authority.serverIdentity()), client: .insecureLoopback, name: "silo-1",
            coordinatorSays: "the client speaks plaintext")
        #expect(plainClient.contains("the coordinator requires mutual TLS; this client runs --insecure"), "\(plainClient)")
        #expect(coordinator.contains { $0.contains("the client speaks plaintext") }, "\(coordinator)")
        let (tlsClient, _) = try await Self.attempt(server: .insecureLoopback, client: .mutualTLS(try authority.clientIdentity(name: "silo-1")))
        #expect(tlsClient.contains("the coordinator speaks plaintext"), "\(tlsClient)")
    }
}
