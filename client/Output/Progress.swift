import Foundation

/// Progress for a person at a terminal, on standard error so that standard output stays
/// clean for tables and JSON. Silent when disabled or when standard error is not a terminal
/// (status lines only; whole lines are always shown when enabled). With `timestamps`, every
/// line begins with the moment it was written, ISO 8601 in UTC (`2026-11-20T09:14:03Z`): a
/// long-running `join`'s log, read beside the coordinator's.
struct Progress: Sendable {
    let enabled: Bool
    let interactive: Bool
    let timestamps: Bool

    init(enabled: Bool, timestamps: Bool = false) {
        self.enabled = enabled
        self.timestamps = timestamps
        interactive = enabled && isatty(STDERR_FILENO) != 0
    }

    /// Overwrites the status line (terminals only).
    func update(_ status: String) {
        guard interactive else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(status)".utf8))
    }

    /// Prints a line that stays (each of its lines stamped, with `timestamps`).
    func line(_ text: String) {
        guard enabled else { return }
        var lines = text
        if timestamps {
            let stamp = Date().formatted(.iso8601) + " "
            lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { "\(stamp)\($0)" }.joined(separator: "\n")
        }
        FileHandle.standardError.write(Data(((interactive ? "\r\u{1B}[K" : "") + lines + "\n").utf8))
    }
}
