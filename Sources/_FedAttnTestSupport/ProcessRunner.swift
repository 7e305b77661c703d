import Foundation

/// What a finished program printed, and how it ended.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let standardOutput: String
    public let standardError: String
}

public enum ProcessRunner {
    /// Runs `executable` with `arguments` to completion, with nothing on standard input.
    /// Output goes to temporary files (no pipe can fill up and block the child), and the
    /// process is always waited for, so a test never leaves it behind.
    public static func run(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fedattn-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outURL = folder.appendingPathComponent("stdout"), errURL = folder.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return ProcessResult(
            status: process.terminationStatus,
            standardOutput: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            standardError: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// The path of `name` on PATH, if it is there.
    public static func which(_ name: String) -> String? {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// True when python3 can import the `safetensors` package.
    /// Headless Chromium, if installed (`make deps` installs Debian's `chromium`).
    public static let chromium: String? = ["chromium", "chromium-browser", "google-chrome"].lazy.compactMap { which($0) }.first

    /// Whether python3 has Google's dp-accounting package (the privacy accountant's reference).
    public static let pythonHasDPAccounting: Bool = {
        guard let python = which("python3") else { return false }
        return (try? run(python, ["-c", "import dp_accounting.rdp"]).status) == 0
    }()

    public static let pythonHasSafetensors: Bool = {
        guard let python = which("python3") else { return false }
        return (try? run(python, ["-c", "import safetensors.numpy"]).status) == 0
    }()
}
