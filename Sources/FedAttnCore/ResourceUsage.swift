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

    /// The largest peak resident set size, in bytes, among this process's children (and
    /// their descendants) that have ended and been waited for (`ru_maxrss` of
    /// `RUSAGE_CHILDREN`, as `/usr/bin/time` reports it); 0 when none has.
    public static func peakResidentBytesOfChildren() -> Int {
        var usage = rusage()
        #if os(Linux)
            guard getrusage(RUSAGE_CHILDREN.rawValue, &usage) == 0 else { return 0 }
            return Int(usage.ru_maxrss) * 1024  // kilobytes on Linux
        #else
            guard getrusage(RUSAGE_CHILDREN, &usage) == 0 else { return 0 }
            return Int(usage.ru_maxrss)  // bytes on macOS
        #endif
    }

    /// CPU seconds, user and system, of this process's children that have ended and been
    /// waited for (`RUSAGE_CHILDREN`).
    public static func cpuSecondsOfChildren() -> Double {
        #if os(Linux)
            cpuSeconds(of: RUSAGE_CHILDREN.rawValue)
        #else
            cpuSeconds(of: RUSAGE_CHILDREN)
        #endif
    }

    /// CPU seconds the process has used so far, user and system, all threads.
    public static func cpuSeconds() -> Double {
        #if os(Linux)
            cpuSeconds(of: RUSAGE_SELF.rawValue)
        #else
            cpuSeconds(of: RUSAGE_SELF)
        #endif
    }

    private static func cpuSeconds(of who: Int32) -> Double {
        var usage = rusage()
        guard getrusage(who, &usage) == 0 else { return 0 }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
