import Foundation

/// What `fedattn-coordinator bench` measured, as a table or as JSON (snake_case keys).
struct LoadResult: Encodable {
    let clients: Int, rounds: Int, parameters: Int, modelBytesFloat32: Int, updateBytes: Int, updatesAggregated: Int
    let updatesPerSecond: Double, roundSeconds: [Double], coordinatorPeakRSSBytes: Int, memoryBudgetBytes: Int, refused: Int
    let bombsSent: Int, bombsRefused: Int, bombBytes: Int, wallSeconds: Double
    /// Updates the coordinator no longer wanted when they arrived (their round had closed).
    let updatesDropped: Int
    /// CPU seconds serve used, from its start to its exit (user and system).
    let coordinatorCPUSeconds: Double
    let secureAggregation: Bool
    /// Each round's mean bytes up per client (with secure aggregation: every phase's).
    let bytesUpPerClient: [Int]
    /// `bench --flood`: connections calling NextTask in a loop, their calls, and how many of
    /// those the call-rate limit refused.
    var floodConnections = 0, floodCalls = 0, floodRefusedForRate = 0

    enum CodingKeys: String, CodingKey {
        case clients, rounds, parameters, modelBytesFloat32 = "model_bytes_float32", updateBytes = "update_bytes"
        case updatesAggregated = "updates_aggregated", updatesPerSecond = "updates_aggregated_per_second", roundSeconds = "round_seconds"
        case coordinatorPeakRSSBytes = "coordinator_peak_rss_bytes", memoryBudgetBytes = "memory_budget_bytes", refused
        case bombsSent = "bombs_sent", bombsRefused = "bombs_refused", bombBytes = "bomb_bytes", wallSeconds = "wall_seconds"
        case updatesDropped = "updates_dropped", coordinatorCPUSeconds = "coordinator_cpu_seconds", secureAggregation = "secure_aggregation"
        case bytesUpPerClient = "bytes_up_per_client", floodConnections = "flood_connections", floodCalls = "flood_calls"
        case floodRefusedForRate = "flood_refused_for_rate"
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    func table() -> String {
        [
            "clients                    \(clients) (refused: \(refused))",
            "model                      \(parameters) parameters, \(modelBytesFloat32) bytes as float32",
            "update                     \(updateBytes) bytes",
            "rounds                     \(rounds), \(updatesAggregated) updates aggregated, \(updatesDropped) dropped as late",
            String(format: updatesPerSecond < 10 ? "updates aggregated/s       %.2f" : "updates aggregated/s       %.0f", updatesPerSecond),
            "round seconds              " + roundSeconds.map { String(format: "%.2f", $0) }.joined(separator: " "),
            String(format: "coordinator CPU            %.2f s (start to exit)", coordinatorCPUSeconds),
            "bytes up per client        " + bytesUpPerClient.map(String.init).joined(separator: " ")
                + (secureAggregation ? " (secure aggregation)" : ""),
            String(
                format: "coordinator peak memory    %.1f MB (budget %.1f MB)", Double(coordinatorPeakRSSBytes) / 1e6, Double(memoryBudgetBytes) / 1e6),
            "bombs                      \(bombsSent) sent (\(bombBytes) bytes each, 1 GiB inflated), \(bombsRefused) refused",
            String(format: "wall                       %.1f s", wallSeconds),
        ].joined(separator: "\n")
            + (floodConnections == 0
                ? ""
                : String(
                    format: "\nflood                      %d connection(s), %d NextTask calls (%.0f/s), %d refused for the call rate",
                    floodConnections,
                    floodCalls, Double(floodCalls) / max(wallSeconds, 1e-9), floodRefusedForRate))
    }
}
