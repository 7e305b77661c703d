import Dispatch
public import FedAttnCore
import Foundation

/// Reads click logs as they are exported: silo CSVs (a header naming
/// `user_id,item_id,timestamp,label` and optionally `strategy`, in any order; fields may be
/// quoted, and a quoted field may hold commas, quotes and line breaks), the same with tabs
/// (a header line names the columns), and MovieLens `u.data` (tab-separated user, item,
/// rating, timestamp, no header; a rating of 4 or 5 is a click). Any of them may be gzip
/// (`.gz`) or zstd (`.zst`) compressed. Timestamps are seconds since 1970, whole or
/// fractional, or ISO-8601 (see `Timestamp`); labels 0/1 or true/false. Lines end in LF,
/// CRLF or, as classic Mac OS wrote them, CR alone; a first line longer than
/// `maxHeaderBytes`, or a record longer than `maxRowBytes`, is refused where it starts.
public struct ClickLogReader: Sendable {
    /// Maps item ids to embedding rows; an id the mapping refuses is a malformed row.
    public var items: ItemMapping
    /// Strategy ids must lie in 0..<strategies.
    public var strategies: Int
    /// Skip and count malformed rows instead of stopping at the first.
    public var skipMalformed: Bool
    /// Bytes read from a plain file at a time: a file is never whole in memory.
    public var pieceBytes = 8 << 20

    /// The longest first line (the header, or a MovieLens row), in bytes without its line
    /// end: 64 KiB. A header naming five columns is under 100 bytes; a longer first line is
    /// a file that is not a click log, or whose line ends this reader does not see, and it
    /// is refused there rather than read whole into one header.
    public static let maxHeaderBytes = 64 << 10
    /// The longest record after the header, in bytes without its line end (a quoted field
    /// may span lines: the record counts whole): 1 MiB, over ten thousand times a real row.
    /// A longer one is refused, naming the line it starts on, instead of read on to the
    /// end of the file.
    public static let maxRowBytes = 1 << 20
    /// The fewest bytes a row takes with its line end: four one-byte fields, three separators
    /// and a line end (`u,1,0,1` and LF). What the columns are sized for is bounded by it.
    static let minimumRowBytes = 8
    /// The most rows the columns are sized for before reading (64 Mi, about 1.4 GB of
    /// columns; the largest benchmarked silo has 7.9 M rows): more grow as they are read.
    static let maxReservedRows = 1 << 26
    /// The most characters of a file's text that an error quotes (escaped, then cut with "…").
    static let quotedCharacters = 80

    public init(items: ItemMapping, strategies: Int = 1, skipMalformed: Bool = false) {
        self.items = items
        self.strategies = strategies
        self.skipMalformed = skipMalformed
    }

    /// File names a folder's silos may have: `.csv` or `.tsv`, plain, `.gz`, `.zst` or `.zstd`.
    public static func isSiloFile(_ name: String) -> Bool {
        let lower = name.lowercased()
        let plain =
            lower.hasSuffix(".gz") || lower.hasSuffix(".zst")
            ? String(lower[..<lower.lastIndex(of: ".")!]) : lower.hasSuffix(".zstd") ? String(lower.dropLast(5)) : lower
        return plain.hasSuffix(".csv") || plain.hasSuffix(".tsv")
    }

    /// Reads one file, or every silo file in a folder (sorted by name), pooled.
    public func read(path: String) throws(DataError) -> ClickLog {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw .fileNotFound(path: path) }
        guard isFolder.boolValue else { return try readFile(path) }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path).filter(Self.isSiloFile).sorted()
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
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw .fileNotFound(path: path) }
        guard !isFolder.boolValue, let handle = FileHandle(forReadingAtPath: path) else {
            throw .unreadable(path: path, reason: "permission denied or not a file")
        }
        defer { try? handle.close() }
        var log: ClickLog
        if CompressedFile.isCompressed(path) {
            let data: Data
            do { data = try handle.readToEnd() ?? Data() } catch { throw .unreadable(path: path, reason: error.localizedDescription) }
            log = try parse([UInt8](try CompressedFile.contents(data, path: path)), source: path)
        } else {
            // Read a piece at a time: a file is never whole in memory (a 7.9M-row silo is 209 MB).
            // The rows are estimated from the first piece's line breaks and the file's size.
            var failure: (any Error)?
            var first: [UInt8]?
            do { first = try handle.read(upToCount: pieceBytes).map { [UInt8]($0) } } catch {
                throw .unreadable(path: path, reason: error.localizedDescription)
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            // Lines end in LF (or CRLF), or in CR alone in a classic Mac OS file.
            func count(_ byte: UInt8) -> Int { first?.reduce(0) { $0 + ($1 == byte ? 1 : 0) } ?? 0 }
            let lineFeeds = count(UInt8(ascii: "\n"))
            let breaks = lineFeeds > 0 ? lineFeeds : count(UInt8(ascii: "\r"))
            // Bounded, in Double, before it becomes an Int: the file's size is what its metadata
            // says (a sparse file may say 2^63 - 1 bytes, and 1.02 times that traps as an Int),
            // a file of blank lines would size a row for each byte, and past `maxReservedRows`
            // the columns grow as they fill.
            let rowsPerByte = first.map { $0.isEmpty ? 0 : Double(breaks) / Double($0.count) * 1.02 } ?? 0
            let expected = Int(min(Double(size) * rowsPerByte, Double(size / Self.minimumRowBytes), Double(Self.maxReservedRows)))
            let source = RecordSource {
                if let piece = first {
                    first = nil
                    return piece.isEmpty ? nil : piece
                }
                do {
                    // An empty piece is the end, as nil is.
                    guard let piece = try handle.read(upToCount: pieceBytes), !piece.isEmpty else { return nil }
                    return [UInt8](piece)
                } catch {
                    failure = error
                    return nil
                }
            }
            log = try parse(RecordSplitter(source, file: path), source: path, expectedRows: expected)
            if let failure { throw .unreadable(path: path, reason: failure.localizedDescription) }
        }
        guard log.count > 0 else { throw .emptySilo(path: path) }
        log.noteSource(path)
        return log
    }

    /// Parses a whole file's bytes; `source` names it in errors.
    public func parse(_ bytes: [UInt8], source: String) throws(DataError) -> ClickLog {
        var whole: [UInt8]? = bytes
        return try parse(
            RecordSplitter(
                RecordSource {
                    defer { whole = nil }; return whole
                }, file: source), source: source)
    }

    private func parse(_ records: RecordSplitter, source: String, expectedRows: Int = 0) throws(DataError) -> ClickLog {
        var lines = records
        guard let (firstNumber, first) = try lines.next() else { throw .emptySilo(path: source) }
        let tabs = first.contains(UInt8(ascii: "\t"))
        let format: Format
        var log = ClickLog()
        // Columns sized once: grown by doubling they would hold up to twice the rows, and
        // both old and new buffers at each doubling.
        log.reserveCapacity(rows: expectedRows)
        if tabs && !Columns.isHeader(first, separator: UInt8(ascii: "\t")) {
            // MovieLens u.data: no header, the first line is a row.
            format = Format(
                columns: Columns(user: 0, item: 1, timestamp: 3, label: 2, strategy: nil, count: 4), separator: UInt8(ascii: "\t"), ratings: true)
            try parseRow(first, line: firstNumber, format: format, source: source, into: &log)
        } else {
            let separator = tabs ? UInt8(ascii: "\t") : UInt8(ascii: ",")
            format = Format(columns: try Columns(header: first, separator: separator, source: source), separator: separator, ratings: false)
        }
        // Rows are parsed a batch at a time on every core (splitting fields, numbers, item
        // rows: the bulk of the work), then added in file order on this thread (interning
        // ids is the part that cannot be shared).
        var batch: [(line: Int, record: ArraySlice<UInt8>)] = []
        batch.reserveCapacity(Self.batchRows)
        func flush() throws(DataError) {
            for (line, parsed) in zip(batch.map(\.line), parseInParallel(batch.map(\.record), format: format)) {
                switch parsed {
                case .success(let row):
                    log.append(
                        user: row.user, item: row.item, itemRow: row.itemRow, timestamp: row.timestamp, label: row.label, strategy: row.strategy)
                case .failure(let problem):
                    guard skipMalformed else { throw .malformedRow(file: source, line: line, reason: problem.reason) }
                    log.noteSkipped("\(source):\(line): \(problem.reason)")
                }
            }
            batch.removeAll(keepingCapacity: true)
        }
        // A record too long to read is reported after the rows before it, as they come first.
        func nextRecord() throws(DataError) -> (Int, ArraySlice<UInt8>)? {
            do throws(DataError) { return try lines.next() } catch {
                try flush()
                throw error
            }
        }
        while let (number, line) = try nextRecord() {
            if let opened = lines.unterminatedQuote {
                try flush()
                throw .malformedRow(
                    file: source, line: opened, reason: "a quote opened on this line is never closed (the rest of the file would be one field)")
            }
            batch.append((number, line))
            if batch.count == Self.batchRows { try flush() }
        }
        try flush()
        return log
    }

    /// Rows parsed together, in parallel.
    static let batchRows = 32_768

    /// Each record's fields, or why it is malformed, in order; the work shared by every core.
    private func parseInParallel(_ records: [ArraySlice<UInt8>], format: Format) -> [Result<ParsedRow, RowProblem>] {
        let workers = records.count < 4_096 ? 1 : max(1, ProcessInfo.processInfo.activeProcessorCount)
        var results = [Result<ParsedRow, RowProblem>?](repeating: nil, count: records.count)
        results.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let lo = records.count * worker / workers, hi = records.count * (worker + 1) / workers
                for i in lo..<hi {
                    do throws(RowProblem) {
                        out[i] = .success(try fields(of: records[i], format: format))
                    } catch {
                        out[i] = .failure(error)
                    }
                }
            }
        }
        return results.map { $0! }
    }

    /// Parses one row into `log`; a malformed one is an error, or is counted when skipping.
    private func parseRow(
        _ line: ArraySlice<UInt8>, line number: Int, format: Format, source: String, into log: inout ClickLog
    ) throws(DataError) {
        do throws(RowProblem) {
            let row = try fields(of: line, format: format)
            log.append(user: row.user, item: row.item, itemRow: row.itemRow, timestamp: row.timestamp, label: row.label, strategy: row.strategy)
        } catch {
            guard skipMalformed else { throw .malformedRow(file: source, line: number, reason: error.reason) }
            log.noteSkipped("\(source):\(number): \(error.reason)")
        }
    }

    /// The validated fields of one row. Kept apart from the log so that no row copies it.
    private func fields(of line: ArraySlice<UInt8>, format: Format) throws(RowProblem) -> ParsedRow {
        let columns = format.columns, ratings = format.ratings
        let fields = splitFields(line, separator: format.separator)
        guard fields.count == columns.count else {
            let name = format.separator == UInt8(ascii: "\t") ? "tab-separated" : "comma-separated"
            throw RowProblem("expected \(columns.count) \(name) fields, found \(fields.count)")
        }
        let user = fields[columns.user], item = fields[columns.item]
        guard !user.isEmpty else { throw RowProblem("user_id is empty") }
        guard !item.isEmpty else { throw RowProblem("item_id is empty") }
        guard let itemRow = items.row(for: Substring(item)) else {
            throw RowProblem(
                "item_id '\(excerpt(item))' is outside the catalogue (1...\(items.rowCount - 1)); choose a larger catalogue or hashed items")
        }
        guard let timestamp = Timestamp.microseconds(trimmed(fields[columns.timestamp])) else {
            throw RowProblem(
                "timestamp '\(excerpt(fields[columns.timestamp]))' is neither seconds since 1970 (1709296205 or 1709296205.25) nor ISO-8601 (2024-03-01T12:30:05Z, 2024-03-01 12:30:05.250+02:00)"
            )
        }
        let label: UInt8
        if ratings {
            guard let rating = Int(fields[columns.label]), (1...5).contains(rating) else {
                throw RowProblem("rating '\(excerpt(fields[columns.label]))' is not 1 to 5")
            }
            label = rating >= 4 ? 1 : 0
        } else {
            switch trimmed(fields[columns.label]).lowercased() {
            case "0", "false": label = 0
            case "1", "true": label = 1
            default: throw RowProblem("label '\(excerpt(fields[columns.label]))' is not 0, 1, true or false")
            }
        }
        var strategy: Int32 = 0
        if let column = columns.strategy {
            guard let s = Int32(fields[column]), s >= 0, s < strategies else {
                throw RowProblem("strategy '\(excerpt(fields[column]))' is not a whole number in 0..<\(strategies)")
            }
            strategy = s
        }
        return ParsedRow(user: user, item: item, itemRow: itemRow, timestamp: timestamp, label: label, strategy: strategy)
    }
}

/// One row's values, validated.
private struct ParsedRow: Sendable {
    let user: String, item: String, itemRow: Int32, timestamp: Int64, label: UInt8, strategy: Int32
}

/// Why a row is malformed.
private struct RowProblem: Error, Sendable {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// How a file's rows are laid out.
private struct Format: Sendable {
    let columns: Columns
    let separator: UInt8
    /// MovieLens ratings (1-5) in the label column instead of 0/1.
    let ratings: Bool
}

/// Where each field sits in a row.
private struct Columns: Sendable {
    let user: Int, item: Int, timestamp: Int, label: Int, strategy: Int?, count: Int

    init(user: Int, item: Int, timestamp: Int, label: Int, strategy: Int?, count: Int) {
        self.user = user; self.item = item; self.timestamp = timestamp; self.label = label
        self.strategy = strategy; self.count = count
    }

    /// Whether a tab-separated first line names columns rather than holding a MovieLens
    /// row (four numbers): a header is then read by its names, and a wrong one is named.
    static func isHeader(_ line: ArraySlice<UInt8>, separator: UInt8) -> Bool {
        let fields = splitFields(line, separator: separator)
        return fields.count != 4 || fields.contains { Int($0.trimmingCharacters(in: .whitespaces)) == nil }
    }

    /// Finds the columns by name in a header.
    init(header: ArraySlice<UInt8>, separator: UInt8, source: String) throws(DataError) {
        let names = splitFields(header, separator: separator).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let required = ["user_id", "item_id", "timestamp", "label"]
        let missing = required.filter { !names.contains($0) }
        guard missing.isEmpty else { throw .missingColumns(file: source, missing: missing, found: names) }
        func at(_ name: String) -> Int { names.firstIndex(of: name)! }
        self.init(
            user: at("user_id"), item: at("item_id"), timestamp: at("timestamp"), label: at("label"),
            strategy: names.firstIndex(of: "strategy"), count: names.count)
    }
}

/// Where a record splitter gets its bytes: pieces in order, nil at the end.
private struct RecordSource {
    let next: () -> [UInt8]?
    init(_ next: @escaping () -> [UInt8]?) { self.next = next }
}

/// Splits bytes into records: lines, except that a line break inside a quoted field belongs
/// to the field. Lines end in LF or CRLF, or in CR alone (classic Mac OS, and Excel's "CSV
/// (Macintosh)"): the file's first line break says which, for the whole file. Skips blank
/// lines; a record is numbered by the line it starts on, counting from 1. Reads its source a
/// piece at a time, keeping only the record in progress between pieces, and never more of
/// that than the longest record allowed (`ClickLogReader.maxHeaderBytes` for the first,
/// `maxRowBytes` after it): a longer record is refused at the line it starts on.
private struct RecordSplitter {
    private static let lineFeed = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r"), quote = UInt8(ascii: "\"")
    private var bytes: [UInt8] = []
    private var position = 0
    private var number = 0
    /// Records returned so far: the first is held to the header's limit.
    private var records = 0
    private var exhausted = false
    private var startedFile = false
    /// The byte that ends a line: LF (a CR just before it is dropped) or CR; nil until the
    /// file's first line break has been seen.
    private var lineEnd: UInt8?
    private let source: RecordSource
    /// The file, as errors name it.
    private let file: String
    /// The line of a record whose quote was never closed (it ran to the end of the file).
    private(set) var unterminatedQuote: Int?

    init(_ source: RecordSource, file: String) {
        self.source = source
        self.file = file
    }

    /// Reads the next piece, dropping what has been consumed; false at the end.
    private mutating func refill() -> Bool {
        guard !exhausted, let piece = source.next(), !piece.isEmpty else {
            exhausted = true
            return false
        }
        if position > 0 {
            bytes.removeSubrange(0..<position)
            position = 0
        }
        bytes.append(contentsOf: piece)
        if !startedFile {
            // A UTF-8 byte order mark is not part of the first column's name (the first
            // pieces may be shorter than the mark).
            while bytes.count < 3, let more = source.next() { bytes.append(contentsOf: more) }
            startedFile = true
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        }
        return true
    }

    /// The next record and the line it starts on; nil at the end of the file.
    /// - Throws: `DataError.malformedRow` naming the file and line, for a record longer than
    ///   its limit (quoting no more than its first characters).
    mutating func next() throws(DataError) -> (Int, ArraySlice<UInt8>)? {
        while true {
            if position >= bytes.count && !refill() { return nil }
            if position >= bytes.count { continue }
            if lineEnd == nil { findLineEnd() }
            let newline = lineEnd ?? Self.lineFeed
            let limit = records == 0 ? ClickLogReader.maxHeaderBytes : ClickLogReader.maxRowBytes
            // A record: up to a line break outside quotes, reading more while there is none,
            // but never looking past `limit` bytes (and a CRLF) from its start.
            var scan = position, quotes = 0, lines = 1
            var end: Int?
            while end == nil {
                let window = min(bytes.count, position + limit + 2)
                if let found = bytes[scan..<window].firstIndex(of: newline) {
                    quotes += Self.count(Self.quote, in: bytes[scan..<found])
                    if quotes % 2 == 0 {
                        end = found
                    } else {
                        lines += 1
                        scan = found + 1
                    }
                } else if window < bytes.count {
                    quotes += Self.count(Self.quote, in: bytes[scan..<window])
                    throw tooLong(line: number + 1, limit: limit, quoteOpen: quotes % 2 == 1)
                } else {
                    let consumed = position
                    quotes += Self.count(Self.quote, in: bytes[scan...])
                    let scanned = bytes.count
                    if !refill() {
                        end = bytes.count
                    } else {
                        // refill dropped the consumed prefix: positions moved back by `consumed`.
                        scan = scanned - consumed  // quotes are counted up to there
                    }
                }
            }
            let start = position, first = number + 1
            var last = end!
            if newline == Self.lineFeed && last > start && bytes[last - 1] == Self.carriageReturn { last -= 1 }
            // The last record of a file may fill the window's two spare bytes.
            guard last - start <= limit else { throw tooLong(line: first, limit: limit, quoteOpen: quotes % 2 == 1) }
            number += lines
            position = end! + 1
            if quotes % 2 == 1 { unterminatedQuote = first }
            if last > start {
                records += 1
                return (first, bytes[start..<last])
            }
        }
    }

    /// Sets `lineEnd` from the file's first line break: LF or CRLF, or CR alone. Looks no
    /// further than the longest first line; without a line break there, `lineEnd` stays
    /// nil (read as LF: `next` then refuses the line as too long, or reads a short file's
    /// only line).
    private mutating func findLineEnd() {
        var scan = position
        while true {
            let window = min(bytes.count, position + ClickLogReader.maxHeaderBytes + 2)
            if let found = bytes[scan..<window].firstIndex(where: { $0 == Self.lineFeed || $0 == Self.carriageReturn }) {
                if bytes[found] == Self.lineFeed {
                    lineEnd = Self.lineFeed
                    return
                }
                if found + 1 < bytes.count {
                    lineEnd = bytes[found + 1] == Self.lineFeed ? Self.lineFeed : Self.carriageReturn
                    return
                }
                // A CR is the last byte read: the byte after it decides.
                let consumed = position
                guard refill() else {
                    lineEnd = Self.carriageReturn
                    return
                }
                scan = found - consumed
            } else {
                guard window == bytes.count else { return }
                let consumed = position, scanned = bytes.count
                guard refill() else { return }
                scan = scanned - consumed
            }
        }
    }

    /// The error for the record starting at `position` on `line`, longer than `limit` bytes.
    private func tooLong(line: Int, limit: Int, quoteOpen: Bool) -> DataError {
        let size = "\(limit) bytes (\(limit >= 1 << 20 ? "\(limit >> 20) MiB" : "\(limit >> 10) KiB"))"
        let why =
            quoteOpen
            ? "a quote opened on this line is not closed within \(size), the longest \(records == 0 ? "first line" : "row") this reader takes"
            : records == 0
                ? "the first line is longer than \(size), the longest header this reader takes (is this a CSV or TSV click log?)"
                : "the row is longer than \(size), the longest this reader takes"
        let start = bytes[position..<min(bytes.count, position + 4 * ClickLogReader.quotedCharacters)]
        return .malformedRow(file: file, line: line, reason: "\(why); it starts '\(excerpt(String(decoding: start, as: UTF8.self)))'")
    }

    private static func count(_ byte: UInt8, in bytes: ArraySlice<UInt8>) -> Int {
        bytes.reduce(0) { $0 + ($1 == byte ? 1 : 0) }
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

/// `text` without leading and trailing spaces and tabs (ASCII: no Foundation in the hot path).
private func trimmed(_ text: String) -> Substring {
    var view = Substring(text)
    while let first = view.utf8.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { view = view.dropFirst() }
    while let last = view.utf8.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { view = view.dropLast() }
    return view
}
