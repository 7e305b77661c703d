import Foundation

/// Progress for a person at a terminal, on standard error so that standard output stays
/// clean for tables and JSON. Silent when disabled or when standard error is not a terminal
/// (status lines only; whole lines are always shown when enabled).
struct Progress: Sendable {
    let enabled: Bool
    let interactive: Bool

    init(enabled: Bool) {
        self.enabled = enabled
        interactive = enabled && isatty(STDERR_FILENO) != 0
    }

    /// Overwrites the status line (terminals only).
    func update(_ status: String) {
        guard interactive else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(status)".utf8))
    }

    /// Prints a line that stays.
    func line(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(((interactive ? "\r\u{1B}[K" : "") + text + "\n").utf8))
    }
}
