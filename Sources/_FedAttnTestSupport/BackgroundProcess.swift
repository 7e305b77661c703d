import Foundation

/// A program a test runs alongside itself: its output goes to files the test can watch,
/// and it is always stopped (SIGTERM, then SIGKILL) when the test lets go of it.
public final class BackgroundProcess: @unchecked Sendable {
    // @unchecked: Process is not Sendable; this wrapper is used from one test at a time.
    private let process = Process()
    private let folder: URL
    public let standardErrorPath: String

    /// Standard error as it arrives, which `waitFor` awaits.
    private let errors = WatchedText()
    /// Ends when the process has exited.
    private let exit = WatchedText()

    public init(_ executable: String, _ arguments: [String]) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fedattn-bg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        standardErrorPath = folder.appendingPathComponent("stderr").path
        _ = FileManager.default.createFile(atPath: standardErrorPath, contents: nil)
        let outPath = folder.appendingPathComponent("stdout").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        // Standard error goes through a pipe: each piece is kept in the file and wakes the
        // waiters of `waitFor` at once.
        let pipe = Pipe()
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: standardErrorPath))
        let (errors, exit) = (errors, exit)
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                try? file.close()
                errors.end()
                return
            }
            try? file.write(contentsOf: data)
            errors.append(String(decoding: data, as: UTF8.self))
        }
        process.standardError = pipe
        process.terminationHandler = { _ in exit.end() }
        try process.run()
        try? pipe.fileHandleForWriting.close()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: folder)
    }

    /// What it has written to standard error so far.
    public var standardError: String { errors.text }

    /// Waits until standard error holds a match of `pattern` and returns its first capture
    /// group (or the whole match); nil if the process ends first, or at `timeout` (a fail-safe
    /// against hanging; the wait is woken by the output itself).
    public func waitFor(_ pattern: String, timeout: Duration = .seconds(300)) async throws -> String? {
        _ = try NSRegularExpression(pattern: pattern)  // a bad pattern is the caller's error, at once
        @Sendable func match(_ text: String) -> String? {
            guard let regex = try? NSRegularExpression(pattern: pattern),
                let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text))
            else { return nil }
            let range = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
            return Range(range, in: text).map { String(text[$0]) }
        }
        await errors.wait(until: { match($0) != nil }, limit: timeout)
        return match(errors.text)
    }

    /// Waits for it to exit by itself and returns its status; stops it at `timeout` (a
    /// fail-safe) and returns nil.
    public func waitForExit(timeout: Duration = .seconds(300)) async throws -> Int32? {
        await exit.wait(until: { _ in false }, limit: timeout)
        guard exit.ended else {
            stop()
            return nil
        }
        process.waitUntilExit()
        // Its last words: standard error is read to its end before the status is given.
        await errors.wait(until: { _ in false }, limit: .seconds(60))
        return process.terminationStatus
    }

    /// Sends it `signal` (SIGTERM, as a service manager stops it; SIGINT, as Ctrl-C does) and
    /// returns at once; `waitForExit` then says how it ended.
    public func send(_ signal: Int32) {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
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
