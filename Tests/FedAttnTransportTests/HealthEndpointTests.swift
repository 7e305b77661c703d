import FedAttnTransport
import Foundation
import Testing
import _FedAttnTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The metrics port's three paths, as a Prometheus server and a service manager ask them:
/// `/metrics`, `/healthz` (the process answers: always 200) and `/readyz` (the coordinator
/// takes clients: 200 while its server listens and its state folder is there, 503 before,
/// without the folder, and once it is asked to stop).
struct HealthEndpointTests {
    /// The status and body of `GET path` on the metrics server at `port`.
    static func get(_ port: Int, _ path: String) async throws -> (status: Int, body: String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func livenessIsAlwaysOKAndReadinessFollowsTheServerTheFolderAndTheStop() async throws {
        let folder = try Fixtures.temporaryFolder() + "/state"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let readiness = ServingReadiness(stateFolder: folder)
        try await withMetricsServer(
            host: "127.0.0.1", port: 0, render: { Array("fedattn_up 1\n".utf8) }, readiness: { readiness.readiness }
        ) { port in
            let alive = try await Self.get(port, "/healthz")
            #expect(alive.status == 200 && alive.body == "alive\n", "\(alive)")

            let early = try await Self.get(port, "/readyz")
            #expect(early.status == 503 && early.body == "not ready: the gRPC server is not listening yet\n", "\(early)")

            readiness.listening(at: "127.0.0.1:7443")
            let ready = try await Self.get(port, "/readyz")
            #expect(ready.status == 200 && ready.body == "ready: listening on 127.0.0.1:7443, state folder \(folder)\n", "\(ready)")

            // Done is still ready: the coordinator answers DONE and serves the kept model.
            readiness.complete("1 round, round 1 kept (best.safetensors)")
            let done = try await Self.get(port, "/readyz")
            #expect(done.status == 200, "\(done)")
            #expect(done.body.contains("; the federation is complete (1 round, round 1 kept (best.safetensors)): serving its kept model"), "\(done)")

            try FileManager.default.removeItem(atPath: folder)
            let gone = try await Self.get(port, "/readyz")
            #expect(gone.status == 503 && gone.body == "not ready: the state folder \(folder) is gone\n", "\(gone)")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            #expect(try await Self.get(port, "/readyz").status == 200)

            readiness.stopping("asked to stop (SIGTERM)")
            let stopping = try await Self.get(port, "/readyz")
            #expect(stopping.status == 503 && stopping.body == "not ready: asked to stop (SIGTERM)\n", "\(stopping)")
            let stillAlive = try await Self.get(port, "/healthz")
            #expect(stillAlive.status == 200, "\(stillAlive)")

            let metrics = try await Self.get(port, "/metrics?name=x")
            #expect(metrics.status == 200 && metrics.body == "fedattn_up 1\n", "\(metrics)")
            let other = try await Self.get(port, "/health")
            #expect(other.status == 404 && other.body.contains("liveness at /healthz, readiness at /readyz"), "\(other)")
        }
    }
}
