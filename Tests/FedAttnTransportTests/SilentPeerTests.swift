import FedAttnFederation
import FedAttnTransport
import NIOCore
import NIOPosix
import Testing
import _FedAttnTestSupport

/// A peer that falls silent (its process stopped, its network gone) is closed within the
/// keepalive's time and timeout, and its silo leaves; a live client answers the pings and
/// stays however long it makes no call.
struct SilentPeerTests {
    @Test(.timeLimit(.minutes(5))) func aSilentConnectionIsClosedWhileAnIdleLiveClientStays() async throws {
        let coordinator = try TransportTests.coordinator(minClients: 2)
        let authority = try DevCertificateAuthority()
        // Pings after 1 s of quiet; 4 s for the live client to answer one, however loaded the
        // machine; the silent connection goes after 5 s.
        let keepalive = ServerKeepalive(time: .seconds(1), timeout: .seconds(4))
        try await withCoordinatorServer(
            coordinator, host: "127.0.0.1", port: 0, security: .mutualTLS(try authority.serverIdentity()), keepalive: keepalive
        ) { port in
            try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(try authority.clientIdentity(name: "silo-live"))) {
                live in
                _ = try await live.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
                // A frozen peer: connected, then not one byte (not even a TLS hello). Without the
                // watch, gRPC's unanswered-ping shutdown waited for an answer forever.
                let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
                try await silent.closeFuture.get()
                // The live client made no call since its Join, longer ago than the silent
                // connection lived (at least the 5 s limit): its answers to pings kept it.
                #expect(await coordinator.connectedClients == ["silo-live"])
            }
        }
    }
}
