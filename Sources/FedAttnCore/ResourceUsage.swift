import Foundation

/// What the process has used, read from the operating system.
public enum ResourceUsage {
    /// The peak resident set size in bytes (`VmHWM` on Linux, `ru_maxrss` elsewhere).
    public static func peakResidentBytes() -> Int? {
        #if os(Linux)
            guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
            for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first
                return kilobytes.map { $0 * 1024 }
            }
            return nil
        #else
            var usage = rusage()
            guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
            return Int(usage.ru_maxrss)
        #endif
    }
}
