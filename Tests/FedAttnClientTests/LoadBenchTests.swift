import Foundation
import Testing
import _FedAttnTestSupport

/// The load generator: real participants (the client's own protocol code) against `serve`
/// as its own process, its figures read from the operating system and the state folder.
struct LoadBenchTests {
    static let coordinator = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("fedattn-coordinator").path

    @Test func theLoadBenchAggregatesEveryClientsUpdateAndCountsRefusedBombs() throws {
        let result = try ProcessRunner.run(
            Self.coordinator, ["bench", "--clients", "4", "--rounds", "2", "--items", "500", "--bombs", "2", "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let figures = try #require(
            try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any], "\(result.standardOutput)")
        #expect(figures["refused"] as? Int == 0, "\(result.standardError)")
        #expect(figures["rounds"] as? Int == 2)
        #expect(figures["updates_aggregated"] as? Int == 8)
        // Each bombing client sends one bomb per round; every one is refused.
        #expect(figures["bombs_sent"] as? Int == 4)
        #expect(figures["bombs_refused"] as? Int == 4)
        // The coordinator's own peak, measured by the operating system once it ended: more
        // than a Swift process's floor, less than the budget.
        let peak = try #require(figures["coordinator_peak_rss_bytes"] as? Int)
        let budget = try #require(figures["memory_budget_bytes"] as? Int)
        #expect(peak > 10_000_000 && peak < budget, "peak \(peak) bytes")
    }

    /// `make bench-secure` measures the coordinator's cost of secure rounds with it.
    @Test func theLoadBenchRunsSecureRounds() throws {
        let result = try ProcessRunner.run(
            Self.coordinator, ["bench", "--clients", "4", "--rounds", "2", "--items", "500", "--secure-aggregation", "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let figures = try #require(
            try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any], "\(result.standardOutput)")
        #expect(figures["secure_aggregation"] as? Bool == true && figures["rounds"] as? Int == 2, "\(result.standardOutput)")
        #expect(figures["refused"] as? Int == 0, "\(result.standardError)")
    }

    @Test func serveWritesItsPortWhereAScriptAsksAndRefusesAFolderThatIsNot() async throws {
        let folder = try Fixtures.temporaryFolder()
        let portFile = folder + "/serve.port"
        let server = try BackgroundProcess(
            Self.coordinator,
            ["serve", "--insecure", "--host", "127.0.0.1", "--port", "0", "--port-file", portFile, "--state", folder + "/state"])
        defer { server.stop() }
        let port = try #require(try await server.waitFor("listening on 127\\.0\\.0\\.1:([0-9]+)"), "\(server.standardError)")
        // Written before the log line.
        #expect((try? String(contentsOfFile: portFile, encoding: .utf8)) == "\(port)\n")

        let missing = try ProcessRunner.run(
            Self.coordinator, ["serve", "--insecure", "--port", "0", "--port-file", folder + "/no/such/port", "--state", folder + "/other"])
        #expect(missing.status != 0)
        #expect(
            missing.standardError.contains("--port-file \(folder)/no/such/port: the folder \(folder)/no/such does not exist"),
            "\(missing.standardError)")
    }
}
