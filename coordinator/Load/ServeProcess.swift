import FedAttnCore
import Foundation

/// `fedattn-coordinator serve` as a child process, so that its memory is measured alone:
/// started with `--port 0 --port-file` and `--exit-when-done` (it ends once its rounds are
/// done, as a bench needs), its port read from that file, its peak resident
/// memory read from the operating system once it has ended (`RUSAGE_CHILDREN`, which with a
/// wrapper such as heaptrack covers the wrapper and the coordinator under it).
struct ServeProcess {
    let process = Process()
    /// Where serve's standard error goes; shown when it fails to start.
    let logPath: String
    let portPath: String

    /// Starts `serve` with `arguments` (everything but --port, --port-file and --exit-when-done), under
    /// `wrapper` (a command split at spaces, looked up on PATH) if given.
    init(arguments: [String], wrapper: String?, folder: String) throws {
        logPath = folder + "/serve.log"
        portPath = folder + "/serve.port"
        let wrapper = wrapper?.split(separator: " ").map(String.init) ?? []
        let executable = CommandLine.arguments[0]
        process.executableURL = URL(fileURLWithPath: wrapper.first.map(Self.resolve) ?? executable)
        process.arguments =
            wrapper.dropFirst() + (wrapper.isEmpty ? [] : [executable]) + ["serve", "--port", "0", "--port-file", portPath, "--exit-when-done"]
            + arguments
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    /// The port serve listens on, once it has written it (within `timeout`).
    /// - Throws: `ServeProcessError` with serve's own output when it ended or never listened.
    func port(within timeout: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline && process.isRunning {
            if let text = try? String(contentsOfFile: portPath, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return port
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ServeProcessError(log: (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
    }

    /// Waits for serve to end; returns its exit status and peak resident memory in bytes.
    /// Its exit status, its peak memory, and the CPU seconds it used (user and system).
    func waitForExit() -> (status: Int32, peakResidentBytes: Int, cpuSeconds: Double) {
        let before = ResourceUsage.cpuSecondsOfChildren()
        process.waitUntilExit()
        return (process.terminationStatus, ResourceUsage.peakResidentBytesOfChildren(), ResourceUsage.cpuSecondsOfChildren() - before)
    }

    func stop() { if process.isRunning { process.terminate() } }

    /// A wrapper named without a path is looked up on PATH.
    static func resolve(_ command: String) -> String {
        if command.contains("/") { return command }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(command)" }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? command
    }
}

/// The coordinator under test did not start; carries what it wrote to standard error.
struct ServeProcessError: Error, CustomStringConvertible {
    let log: String
    var description: String { "the coordinator did not start listening:\n\(log)" }
}
