import Foundation

/// Item groups (genres, categories) for non-IID silo splits.
public enum ItemGroups {
    /// Reads `item_id,group` CSV lines (a header is allowed), or MovieLens `u.item`, where an
    /// item's group is its first genre flag.
    public static func read(_ path: String) throws(DataError) -> [String: Int] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .fileNotFound(path: path) }
        let text = String(decoding: data, as: UTF8.self)
        var groups: [String: Int] = [:]
        var names: [String: Int] = [:]
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() where !line.isEmpty {
            if line.contains("|") {
                // u.item: id|title|date|video date|url|19 genre flags
                let fields = line.split(separator: "|", omittingEmptySubsequences: false)
                guard fields.count >= 24, let genre = fields.suffix(19).firstIndex(of: "1") else {
                    throw .malformedRow(file: path, line: number + 1, reason: "expected a u.item line with 19 genre flags")
                }
                groups[String(fields[0])] = genre - (fields.count - 19)
            } else {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count == 2 else { throw .malformedRow(file: path, line: number + 1, reason: "expected item_id,group") }
                if number == 0 && fields[0] == "item_id" { continue }
                let name = String(fields[1])
                groups[String(fields[0])] =
                    names[name]
                    ?? {
                        names[name] = names.count; return names.count - 1
                    }()
            }
        }
        return groups
    }
}
