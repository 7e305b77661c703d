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
        let keepalive = ServerKeepalive(time: .milliseconds(500), timeout: .milliseconds(500))
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
                // connection lived (at least the 1 s limit): its answers to pings kept it.
                #expect(await coordinator.connectedClients == ["silo-live"])
            }
        }
    }
}
