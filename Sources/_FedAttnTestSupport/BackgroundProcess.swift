public import Foundation

/// A program a test runs alongside itself: its output goes to files the test can watch,
/// and it is always stopped (SIGTERM, then SIGKILL) when the test lets go of it.
public final class BackgroundProcess: @unchecked Sendable {
    // @unchecked: Process is not Sendable; this wrapper is used from one test at a time.
    private let process = Process()
    private let folder: URL
    public let standardErrorPath: String

    public init(_ executable: String, _ arguments: [String]) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fedattn-bg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        standardErrorPath = folder.appendingPathComponent("stderr").path
        FileManager.default.createFile(atPath: standardErrorPath, contents: nil)
        let outPath = folder.appendingPathComponent("stdout").path
        FileManager.default.createFile(atPath: outPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: standardErrorPath))
        try process.run()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: folder)
    }

    /// What it has written to standard error so far.
    public var standardError: String { (try? String(contentsOfFile: standardErrorPath, encoding: .utf8)) ?? "" }

    /// Waits until standard error holds a match of `pattern` and returns its first capture
    /// group (or the whole match); nil at the timeout or if the process ends first.
    public func waitFor(_ pattern: String, timeout: Duration = .seconds(30)) async throws -> String? {
        let regex = try NSRegularExpression(pattern: pattern)
        let until = ContinuousClock.now + timeout
        while ContinuousClock.now < until {
            let text = standardError
            if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) {
                let range = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
                return Range(range, in: text).map { String(text[$0]) }
            }
            if !process.isRunning { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Waits for it to exit by itself and returns its status; stops it at the timeout.
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32? {
        let until = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < until { try await Task.sleep(for: .milliseconds(20)) }
        guard !process.isRunning else {
            stop()
            return nil
        }
        return process.terminationStatus
    }

    /// Kills it at once (SIGKILL), as a crash or an operator's kill -9 would.
    public func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Stops it if it is still running.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let until = Date().addingTimeInterval(2)
        while process.isRunning && Date() < until { usleep(10_000) }
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
