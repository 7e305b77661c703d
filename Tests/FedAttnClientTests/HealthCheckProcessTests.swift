import Foundation
import Testing
import _FedAttnTestSupport

/// A second implementation of the gRPC health protocol keeps the coordinator to the
/// specification: clients/python/health_check.py, written from the published specification
/// alone (its two messages encoded by hand, no stubs from protocol/health.proto), asks a
/// running `serve` over mutual TLS, as grpc_health_probe or a load balancer would, with a
/// certificate of the federation's CA that the allow-list does not name (a probe's, as
/// docs/operations.md says to issue one). Runs where python3 has grpcio (`make deps` installs it).
struct HealthCheckProcessTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../clients/python/health_check.py")
        .standardized.path

    static let available: Bool = {
        guard let result = try? ProcessRunner.run("/usr/bin/env", ["python3", "-c", "import grpc"]) else { return false }
        return result.status == 0
    }()

    @Test(.enabled(if: available, "python3 with grpcio")) func aPythonProbeWrittenFromTheSpecificationChecksServe() async throws {
        let work = try Fixtures.temporaryFolder()
        let fed = work + "/fed", state = work + "/state"
        let provision = try ProcessRunner.run(
            FederationProcessTests.coordinator, ["provision", "--out", fed, "--coordinator-host", "127.0.0.1", "--silo", "shop", "health-probe"])
        try #require(provision.status == 0, "\(provision.standardError)")
        // The probe's certificate is the CA's, but it is no member: its line is a comment.
        try "shop\n# health-probe: the gRPC health probe's certificate, not a member\n".write(
            toFile: fed + "/members.txt", atomically: true, encoding: .utf8)
        let server = try BackgroundProcess(
            FederationProcessTests.coordinator,
            [
                "serve", "--host", "127.0.0.1", "--port", "0", "--cert", fed + "/coordinator/cert.pem", "--key", fed + "/coordinator/key.pem",
                "--ca", fed + "/coordinator/ca.pem", "--members", fed + "/members.txt", "--state", state, "--rounds", "1", "--min-clients", "1",
            ])
        defer { server.stop() }
        let port = try #require(try await server.waitFor("listening on 127\\.0\\.0\\.1:([0-9]+)"), "\(server.standardError)")

        let kit = fed + "/silos/health-probe"
        let arguments = [
            Self.script, "--target", "127.0.0.1:\(port)", "--cert", kit + "/cert.pem", "--key", kit + "/key.pem", "--ca", kit + "/ca.pem",
            "--service", "", "--service", "fedattn.v1.Federation", "--service", "fedattn.v1.Elsewhere",
        ]
        let probe = try await Fixtures.onOwnThread { try ProcessRunner.run("/usr/bin/env", ["python3"] + arguments) }
        // Not every answer is SERVING (the last is NOT_FOUND), but every one was given.
        #expect(probe.status == 1, "\(probe.standardOutput)\(probe.standardError)")
        let lines = probe.standardOutput.split(separator: "\n").map(String.init)
        try #require(lines.count == 3, "\(probe.standardOutput)\(probe.standardError)")
        #expect(lines[0] == "\"\" SERVING")
        #expect(lines[1] == "\"fedattn.v1.Federation\" SERVING")
        #expect(lines[2].hasPrefix("\"fedattn.v1.Elsewhere\" NOT_FOUND: no service \"fedattn.v1.Elsewhere\" here"), "\(lines[2])")

        // The default asks about the whole server, and exits 0 when it serves.
        let plain = try await Fixtures.onOwnThread { try ProcessRunner.run("/usr/bin/env", ["python3"] + Array(arguments.prefix(9))) }
        #expect(plain.status == 0 && plain.standardOutput == "\"\" SERVING\n", "\(plain.standardOutput)\(plain.standardError)")

        // Logged as a refusal with its name, and no silo joined.
        #expect(try await server.waitFor("refused Check from 'health-probe'") != nil, "\(server.standardError)")
        #expect(!server.standardError.contains("health-probe joined"), "\(server.standardError)")
    }
}
