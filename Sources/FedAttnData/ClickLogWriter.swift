import Foundation

/// Writes a click log as a benchmark-style silo CSV.
public enum ClickLogWriter {
    /// The CSV text: `user_id,item_id,timestamp,label`, plus `strategy` when asked.
    public static func csv(_ log: ClickLog, includeStrategy: Bool) -> String {
        var out = includeStrategy ? "user_id,item_id,timestamp,label,strategy\n" : "user_id,item_id,timestamp,label\n"
        out.reserveCapacity(log.count * 32)
        for row in 0..<log.count {
            out += field(log.userIDs[Int(log.users[row])])
            out += ","
            out += field(log.itemIDs[Int(log.itemKeys[row])])
            out += ",\(Timestamp.text(microseconds: log.timestamps[row])),\(log.labels[row])"
            if includeStrategy { out += ",\(log.strategies[row])" }
            out += "\n"
        }
        return out
    }

    /// Writes one file per silo, `silo-00.csv`, `silo-01.csv`, ..., into `folder`; returns the paths.
    @discardableResult
    public static func writeSilos(_ silos: [ClickLog], to folder: String, includeStrategy: Bool) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let digits = max(2, String(silos.count - 1).count)
        return try silos.enumerated().map { index, log in
            let name = "silo-" + String(repeating: "0", count: max(0, digits - String(index).count)) + "\(index).csv"
            let path = (folder as NSString).appendingPathComponent(name)
            try Data(csv(log, includeStrategy: includeStrategy).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            return path
        }
    }

    /// Quotes a field that holds a comma, a quote or a line break.
    private static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
