import FedAttnCodec
import FedAttnCore
import FedAttnData
import Foundation
import Testing
import _FedAttnTestSupport

/// A seeded mutation fuzzer for the click-log reader (`make fuzz-asan` runs it longer, under
/// AddressSanitizer): silo CSVs with quotes, CRLF and a byte order mark, tab-separated logs
/// with a header, MovieLens `u.data`, classic Mac OS line ends; in memory, from files read in
/// pieces of any size, and gzip or zstd compressed. Every input is read or refused with a
/// `DataError`, never a trap, and what is read holds only rows the reader's mapping allows.
struct ClickLogFuzzTests {
    static let csv =
        "\u{FEFF}user_id,item_id,timestamp,label,strategy\r\nu1,7,1709296205,1,2\r\n\"shop, \"\"north\"\"\",8,2024-03-01T12:30:05Z,0,0\r\n\r\n"
        + "u3,9,2024-03-01 12:30:05.250+02:00,true,1\r\nu4,10,-12.5,false,0\r\n"
    static let tabs = "label\ttimestamp\titem_id\tuser_id\n1\t50\t7\tu1\n0\t2024-03-01T12:30:05-0530\t8\tu2\n"
    static let movieLens = "196\t42\t3\t881250949\n186\t7\t4\t891717742\n22\t1\t5\t878887116\n"
    static let mac = "user_id,item_id,timestamp,label\ru1,1,10,1\r\"u\r2\",2,11.000001,0\r"
    static var seeds: [[UInt8]] { [csv, tabs, movieLens, mac].map { Array($0.utf8) } }

    /// The format's separators and quotes, line ends, and numbers and dates at the edges.
    static let tokens = [
        ",", "\t", "\"", "\"\"", "\n", "\r", "\r\n", "-", ".", ":", "+", "Z", "T", " ", "\u{FEFF}", "\u{0}", "\u{85}", "\u{2028}", "9999999999999",
        "99999999999999999999", "-9223372036854775808", "1e308", "true", "2024-02-30", "0000-01-01T00:00:00+23:59", "9999-12-31T23:59:60.9999999Z",
        "user_id", "item_id", "strategy", "2147483648",
    ]

    /// Two readers: a catalogue of 100 items and 3 strategies that stops at the first
    /// malformed row, and 50 hashed buckets that skips them.
    static var readers: [ClickLogReader] {
        var skipping = ClickLogReader(items: .hashed(buckets: 50), strategies: 1)
        skipping.skipMalformed = true
        return [ClickLogReader(items: .catalogue(items: 100), strategies: 3), skipping]
    }

    /// Checks what a reader returned: rows in its item mapping and strategies, columns of one length.
    static func check(_ log: ClickLog, _ reader: ClickLogReader, _ what: String) {
        #expect(log.itemRows.allSatisfy { $0 >= 1 && $0 < Int32(reader.items.rowCount) }, "\(what)")
        #expect(log.strategies.allSatisfy { $0 >= 0 && $0 < reader.strategies }, "\(what)")
        #expect(log.users.count == log.count && log.timestamps.count == log.count && log.itemKeys.count == log.count, "\(what)")
    }

    @Test func mutatedLogsAreReadOrRefused() {
        let seeds = Self.seeds, readers = Self.readers
        var mutator = FuzzMutator(seed: 20_261_202, tokens: Self.tokens)
        let iterations = FuzzMutator.iterations(standard: 3_000, cost: 2)
        var (read, refused) = (0, 0)
        for i in 0..<iterations {
            let bytes = mutator.mutate(seeds[i % seeds.count])
            let reader = readers[(i / seeds.count) % readers.count]
            do throws(DataError) {
                Self.check(try reader.parse(bytes, source: "fuzz.csv"), reader, "input \(i)")
                read += 1
            } catch {
                refused += 1
            }
        }
        #expect(read + refused == iterations && read > 0 && refused > 0)
        print("click-log fuzz: \(iterations) mutated logs, \(read) read, \(refused) refused, no crash")
    }

    /// Files read a piece at a time (pieces of 1 to 64 bytes, so that every record, quote,
    /// CR and LF falls across pieces somewhere), and gzip and zstd files whose compressed bytes
    /// are mutated.
    @Test func mutatedFilesPlainOrCompressedAreReadOrRefused() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let seeds = Self.seeds
        // Compressed seeds: zstd by the codec, gzip by the system's gzip (when it has one).
        var compressed: [(name: String, bytes: [UInt8])] = try seeds.map { (name: "silo.csv.zst", bytes: [UInt8](try ZstdFrame.compress(Data($0)))) }
        let plain = (folder as NSString).appendingPathComponent("seed.csv")
        try Data(seeds[0]).write(to: URL(fileURLWithPath: plain))
        let gzip = try ProcessRunner.run(
            "/bin/sh", ["-c", "gzip -c '\(plain)' > '\(plain).gz' && cat '\(plain).gz' '\(plain).gz' > '\(plain).2.gz'"])
        if gzip.status == 0 {
            for path in [plain + ".gz", plain + ".2.gz"] {
                compressed.append((name: "silo.csv.gz", bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))))
            }
        }
        var mutator = FuzzMutator(seed: 20_261_203, tokens: Self.tokens)
        let iterations = FuzzMutator.iterations(standard: 150, cost: 200)
        let readers = Self.readers
        var (read, refused) = (0, 0)
        for i in 0..<iterations {
            var reader = readers[i % readers.count]
            let name: String
            let bytes: [UInt8]
            if i % 3 == 2 {
                let seed = compressed[(i / 3) % compressed.count]
                name = seed.name
                bytes = mutator.mutate(seed.bytes)
            } else {
                name = "silo.csv"
                bytes = mutator.mutate(seeds[(i / 3) % seeds.count])
                reader.pieceBytes = 1 + mutator.below(64)
            }
            let path = (folder as NSString).appendingPathComponent(name)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do throws(DataError) {
                Self.check(try reader.read(path: path), reader, "file \(i) (\(name))")
                read += 1
            } catch {
                refused += 1
            }
            try FileManager.default.removeItem(atPath: path)
        }
        #expect(read + refused == iterations && read > 0 && refused > 0)
        print("click-log file fuzz: \(iterations) mutated files (\(compressed.count) compressed seeds), \(read) read, \(refused) refused, no crash")
    }

    /// Lines without an end, records past the limit, a file of line ends alone: refused by
    /// line, or read empty, without reading on or sizing anything by them.
    @Test func linesWithoutAnEndAndEmptyLinesAreRefusedWhereTheyStart() {
        let reader = ClickLogReader(items: .catalogue(items: 100))
        let header = "user_id,item_id,timestamp,label\n"
        let hostile: [String] = [
            String(repeating: "a", count: ClickLogReader.maxHeaderBytes + 3),
            header + "u1," + String(repeating: "9", count: ClickLogReader.maxRowBytes) + ",1,1\n",
            header + "\"" + String(repeating: "x\n", count: ClickLogReader.maxRowBytes / 2),
            String(repeating: "\n", count: 100_000), String(repeating: "\r", count: 100_000), "\u{FEFF}", "",
        ]
        for (i, text) in hostile.enumerated() {
            #expect(throws: DataError.self, "input \(i)") { try reader.parse(Array(text.utf8), source: "hostile.csv") }
        }
    }
}
