import ArgumentParser
import FedAttnData
import FedAttnModel
import Foundation

/// Writes `recommend --all`'s lists: CSV (user,rank,item,score[,name]) or, for a `.jsonl`
/// file, one JSON object a line; standard output without a file.
enum RecommendationWriter {
    static func write(_ lists: [Recommender.Recommendation], names: [String: String], to path: String?) throws {
        let jsonLines = path.map { $0.hasSuffix(".jsonl") || $0.hasSuffix(".json") } ?? false
        let withNames = !names.isEmpty
        var text = jsonLines ? "" : "user,rank,item,score" + (withNames ? ",name" : "") + "\n"
        text.reserveCapacity(lists.count * 40 * max(1, lists.first?.items.count ?? 1))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for list in lists {
            for (rank, entry) in list.items.enumerated() {
                if jsonLines {
                    let line = Line(user: list.user, rank: rank + 1, item: entry.itemID, score: Double(entry.score), name: names[entry.itemID])
                    text += String(decoding: try encoder.encode(line), as: UTF8.self) + "\n"
                } else {
                    text += "\(csv(list.user)),\(rank + 1),\(csv(entry.itemID)),\(String(format: "%.6g", entry.score))"
                    if withNames { text += "," + csv(names[entry.itemID] ?? "") }
                    text += "\n"
                }
            }
        }
        guard let path else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ValidationError("--out \(path): cannot write there: \(error.localizedDescription)")
        }
    }

    private struct Line: Encodable {
        let user: String, rank: Int, item: String, score: Double, name: String?
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    private static func csv(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// Item names and id lists read for `recommend`.
enum ItemNames {
    /// Names by item id, from MovieLens' u.item (id|title|..., Latin-1) or a CSV of
    /// item_id,name (a header line whose first field is not an id of the rest is skipped).
    static func read(_ path: String) throws -> [String: String] {
        var names: [String: String] = [:]
        for (number, line) in try lines(of: path, flag: "--item-names").enumerated() where !line.isEmpty {
            let fields: [Substring]
            if line.contains("|") {
                fields = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
            } else {
                fields = line.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
            }
            guard fields.count >= 2 else {
                throw ValidationError("--item-names \(path), line \(number + 1): expected id|name or id,name, got '\(line.prefix(60))'")
            }
            if number == 0 && fields[0].lowercased().contains("item") { continue }  // a header
            var name = String(fields[1]).trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 {
                name = String(name.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
            }
            names[String(fields[0]).trimmingCharacters(in: .whitespaces)] = name
        }
        return names
    }

    /// Item ids, one per line (the first column of a CSV; a header `item...` skipped).
    static func readIDs(_ path: String) throws -> Set<String> {
        var ids = Set<String>()
        for (number, line) in try lines(of: path, flag: "--exclude").enumerated() where !line.isEmpty {
            let id = String(line.split(separator: ",", maxSplits: 1).first ?? "").trimmingCharacters(in: .whitespaces)
            if number == 0 && id.lowercased().hasPrefix("item") { continue }
            ids.insert(id)
        }
        return ids
    }

    private static func lines(of path: String, flag: String) throws -> [Substring] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(flag) \(path): cannot read the file") }
        // MovieLens' u.item is Latin-1; anything else is expected in UTF-8.
        let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) ?? ""
        return text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
    }
}
