public import FedAttnCore
import Foundation

/// Reads click logs: benchmark silo CSVs (a header naming `user_id,item_id,timestamp,label`
/// and optionally `strategy`, in any order) and MovieLens `u.data` (tab-separated
/// user, item, rating, timestamp; a rating of 4 or 5 is a click).
public struct ClickLogReader: Sendable {
    /// Maps item ids to embedding rows; an id the mapping refuses is a malformed row.
    public var items: ItemMapping
    /// Strategy ids must lie in 0..<strategies.
    public var strategies: Int
    /// Skip and count malformed rows instead of stopping at the first.
    public var skipMalformed: Bool

    public init(items: ItemMapping, strategies: Int = 1, skipMalformed: Bool = false) {
        self.items = items
        self.strategies = strategies
        self.skipMalformed = skipMalformed
    }

    /// Reads one file, or every `.csv` file in a folder (sorted by name), pooled.
    public func read(path: String) throws(DataError) -> ClickLog {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw .fileNotFound(path: path) }
        guard isFolder.boolValue else { return try readFile(path) }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".csv") }.sorted()
        } catch { throw .unreadable(path: path, reason: "\(error.localizedDescription)") }
        guard !names.isEmpty else { throw .noSiloFiles(folder: path) }
        var pooled = ClickLog()
        for name in names {
            pooled.append(contentsOf: try readFile((path as NSString).appendingPathComponent(name)))
        }
        return pooled
    }

    /// Reads one silo file; an empty one is an error.
    public func readFile(_ path: String) throws(DataError) -> ClickLog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileManager.default.fileExists(atPath: path)
                ? .unreadable(path: path, reason: "permission denied or not a file") : .fileNotFound(path: path)
        }
        var log = try parse([UInt8](data), source: path)
        guard log.count > 0 else { throw .emptySilo(path: path) }
        log.noteSource(path)
        return log
    }

    /// Parses a whole file's bytes; `source` names it in errors.
    public func parse(_ bytes: [UInt8], source: String) throws(DataError) -> ClickLog {
        var lines = LineSplitter(bytes)
        guard let (firstNumber, first) = lines.next() else { throw .emptySilo(path: source) }
        let isMovieLens = first.contains(UInt8(ascii: "\t"))
        let columns: Columns
        var log = ClickLog()
        if isMovieLens {
            columns = Columns(user: 0, item: 1, timestamp: 3, label: 2, strategy: nil, count: 4)
            try parseRow(first, line: firstNumber, columns: columns, ratings: true, source: source, into: &log)
        } else {
            columns = try Columns(header: first, source: source)
        }
        while let (number, line) = lines.next() {
            try parseRow(line, line: number, columns: columns, ratings: isMovieLens, source: source, into: &log)
        }
        return log
    }

    /// Parses one row into `log`; a malformed one is an error, or is counted when skipping.
    private func parseRow(
        _ line: ArraySlice<UInt8>, line number: Int, columns: Columns, ratings: Bool, source: String, into log: inout ClickLog
    ) throws(DataError) {
        do throws(RowProblem) {
            let row = try fields(of: line, columns: columns, ratings: ratings)
            log.append(user: row.user, item: row.item, itemRow: row.itemRow, timestamp: row.timestamp, label: row.label, strategy: row.strategy)
        } catch {
            guard skipMalformed else { throw .malformedRow(file: source, line: number, reason: error.reason) }
            log.noteSkipped("\(source):\(number): \(error.reason)")
        }
    }

    /// The validated fields of one row. Kept apart from the log so that no row copies it.
    private func fields(of line: ArraySlice<UInt8>, columns: Columns, ratings: Bool) throws(RowProblem) -> ParsedRow {
        let fields = splitFields(line, separator: ratings ? UInt8(ascii: "\t") : UInt8(ascii: ","))
        guard fields.count == columns.count else { throw RowProblem("expected \(columns.count) fields, found \(fields.count)") }
        let user = fields[columns.user], item = fields[columns.item]
        guard !user.isEmpty else { throw RowProblem("user_id is empty") }
        guard !item.isEmpty else { throw RowProblem("item_id is empty") }
        guard let itemRow = items.row(for: Substring(item)) else {
            throw RowProblem("item_id '\(item)' is outside the catalogue (1...\(items.rowCount - 1)); choose a larger catalogue or hashed items")
        }
        guard let timestamp = Int64(fields[columns.timestamp]) else {
            throw RowProblem("timestamp '\(fields[columns.timestamp])' is not a whole number of seconds")
        }
        let label: UInt8
        if ratings {
            guard let rating = Int(fields[columns.label]), (1...5).contains(rating) else {
                throw RowProblem("rating '\(fields[columns.label])' is not 1 to 5")
            }
            label = rating >= 4 ? 1 : 0
        } else {
            switch fields[columns.label] {
            case "0": label = 0
            case "1": label = 1
            default: throw RowProblem("label '\(fields[columns.label])' is not 0 or 1")
            }
        }
        var strategy: Int32 = 0
        if let column = columns.strategy {
            guard let s = Int32(fields[column]), s >= 0, s < strategies else {
                throw RowProblem("strategy '\(fields[column])' is not a whole number in 0..<\(strategies)")
            }
            strategy = s
        }
        return ParsedRow(user: user, item: item, itemRow: itemRow, timestamp: timestamp, label: label, strategy: strategy)
    }
}

/// One row's values, validated.
private struct ParsedRow {
    let user: String, item: String, itemRow: Int32, timestamp: Int64, label: UInt8, strategy: Int32
}

/// Why a row is malformed.
private struct RowProblem: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Where each field sits in a row.
private struct Columns {
    let user: Int, item: Int, timestamp: Int, label: Int, strategy: Int?, count: Int

    init(user: Int, item: Int, timestamp: Int, label: Int, strategy: Int?, count: Int) {
        self.user = user; self.item = item; self.timestamp = timestamp; self.label = label
        self.strategy = strategy; self.count = count
    }

    /// Finds the columns by name in a CSV header.
    init(header: ArraySlice<UInt8>, source: String) throws(DataError) {
        let names = splitFields(header, separator: UInt8(ascii: ",")).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let required = ["user_id", "item_id", "timestamp", "label"]
        let missing = required.filter { !names.contains($0) }
        guard missing.isEmpty else { throw .missingColumns(file: source, missing: missing, found: names) }
        func at(_ name: String) -> Int { names.firstIndex(of: name)! }
        self.init(
            user: at("user_id"), item: at("item_id"), timestamp: at("timestamp"), label: at("label"),
            strategy: names.firstIndex(of: "strategy"), count: names.count)
    }
}

/// Splits bytes into lines (LF or CRLF), skipping blank ones, numbering from 1.
private struct LineSplitter {
    let bytes: [UInt8]
    var position = 0
    var number = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        // A UTF-8 byte order mark is not part of the first column's name.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    mutating func next() -> (Int, ArraySlice<UInt8>)? {
        while position < bytes.count {
            number += 1
            let start = position
            var end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            position = end + 1
            if end > start && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            if end > start { return (number, bytes[start..<end]) }
        }
        return nil
    }
}

/// Splits one line into fields. CSV fields may be quoted ("a,b" and "" for a quote).
private func splitFields(_ line: ArraySlice<UInt8>, separator: UInt8) -> [String] {
    let quote = UInt8(ascii: "\"")
    guard line.contains(quote) else {
        return line.split(separator: separator, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }
    var fields: [String] = []
    var current: [UInt8] = []
    var quoted = false
    var i = line.startIndex
    while i < line.endIndex {
        let byte = line[i]
        if quoted {
            if byte == quote {
                if i + 1 < line.endIndex && line[i + 1] == quote {
                    current.append(quote)
                    i += 1
                } else {
                    quoted = false
                }
            } else {
                current.append(byte)
            }
        } else if byte == quote {
            quoted = true
        } else if byte == separator {
            fields.append(String(decoding: current, as: UTF8.self))
            current.removeAll(keepingCapacity: true)
        } else {
            current.append(byte)
        }
        i += 1
    }
    fields.append(String(decoding: current, as: UTF8.self))
    return fields
}
