import FedAttnCore
import FedAttnData
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

struct ClickLogReaderTests {
    let reader = ClickLogReader(items: .catalogue(items: 100), strategies: 3)

    func read(_ text: String, name: String = "silo.csv", skip: Bool = false) throws -> ClickLog {
        var reader = reader
        reader.skipMalformed = skip
        return try reader.read(path: try Fixtures.writeTemporaryFile(name, text))
    }

    /// The error reading `text` throws, with the file's path replaced by FILE.
    func error(_ text: String) throws -> String {
        let path = try Fixtures.writeTemporaryFile("silo.csv", text)
        let error = try #require(throws: DataError.self) { try reader.read(path: path) }
        return error.description.replacingOccurrences(of: path, with: "FILE")
    }

    @Test func findsColumnsByNameInAnyOrderWithOptionalStrategy() throws {
        let log = try read("\u{FEFF}label,timestamp,strategy,item_id,user_id\r\n1,50,2,7,\"shop, user 1\"\r\n0,60,0,8,u2\r\n")
        #expect(log.count == 2)
        #expect(log.userIDs == ["shop, user 1", "u2"])
        #expect(log.itemRows == [7, 8])
        #expect(log.timestamps == [50_000_000, 60_000_000])  // microseconds
        #expect(log.labels == [1, 0])
        #expect(log.strategies == [2, 0])
    }

    @Test func readsMovieLensRatings() throws {
        let log = try read("196\t42\t3\t881250949\n186\t7\t4\t891717742\n22\t1\t5\t878887116\n", name: "u.data")
        #expect(log.labels == [0, 1, 1])
        #expect(log.itemRows == [42, 7, 1])
    }

    @Test func malformedRowsNameTheFileAndLine() throws {
        let header = "user_id,item_id,timestamp,label\nu1,1,10,1\n"
        #expect(try error(header + "u1,2,11\n") == "FILE:3: expected 4 comma-separated fields, found 3")
        #expect(try error(header + "u1,2,11,yes\n") == "FILE:3: label 'yes' is not 0, 1, true or false")
        #expect(
            try error(header + "u1,2,noon,1\n")
                == "FILE:3: timestamp 'noon' is neither seconds since 1970 (1709296205 or 1709296205.25) nor ISO-8601 (2024-03-01T12:30:05Z, 2024-03-01 12:30:05.250+02:00)"
        )
        #expect(
            try error(header + "\nu1,2,11,1\nu1,2,11.5.2,1\n")
                == "FILE:5: timestamp '11.5.2' is neither seconds since 1970 (1709296205 or 1709296205.25) nor ISO-8601 (2024-03-01T12:30:05Z, 2024-03-01 12:30:05.250+02:00)"
        )
        #expect(try error(header + ",2,11,1\n") == "FILE:3: user_id is empty")
        #expect(try error(header + "u1,101,11,1\n").hasPrefix("FILE:3: item_id '101' is outside the catalogue (1...100)"))
        #expect(try error("user_id,item_id,timestamp,label,strategy\nu1,2,11,1,3\n") == "FILE:2: strategy '3' is not a whole number in 0..<3")
        #expect(
            try error("user,item_id,time,label\nu1,2,11,1\n")
                == "FILE:1: header lacks column(s) user_id, timestamp (found: user, item_id, time, label)")
    }

    /// Classic Mac OS line ends (CR alone, as Excel's "CSV (Macintosh)" writes) are line
    /// ends: a few MB of them read row by row, as LF would, and not as one header line.
    @Test func aLogWithCROnlyLineEndsIsReadRowByRow() throws {
        let rows = 200_000
        var text = "user_id,item_id,timestamp,label\r"
        text.reserveCapacity(rows * 24)
        for i in 0..<rows { text += "u\(i % 1_000),\(1 + i % 100),\(1_000 + i),\(i % 2)\r" }
        let log = try read(text, name: "mac.csv")
        #expect(log.count == rows)
        #expect(log.userIDs.count == 1_000)
        #expect(Array(log.itemRows.prefix(3)) == [1, 2, 3])
        #expect(log.timestamps.last == Int64(1_000 + rows - 1) * 1_000_000)
        #expect(Array(log.labels.prefix(3)) == [0, 1, 0])
        // Lines are numbered as the file's own: the blank line 3 counts.
        #expect(try error("user_id,item_id,timestamp,label\ru1,1,10,1\r\ru1,2,11\r") == "FILE:4: expected 4 comma-separated fields, found 3")
    }

    /// Read in pieces that end anywhere (between a CR and the LF after it, or just after a
    /// lone CR), a file reads as a whole one does, whichever its line ends.
    @Test func lineEndsAreFoundAcrossPieces() throws {
        let lines = ["user_id,item_id,timestamp,label", "u1,1,10,1", "", "\"u,2\",2,11,0", "u3,3,12,1"]
        for end in ["\n", "\r\n", "\r"] {
            let path = try Fixtures.writeTemporaryFile("silo.csv", lines.joined(separator: end) + end)
            for piece in [1, 2, 3, 7, 64] {
                var small = reader
                small.pieceBytes = piece
                let log = try small.read(path: path)
                #expect(log.userIDs == ["u1", "u,2", "u3"], "line end \(end.debugDescription), pieces of \(piece)")
                #expect(log.timestamps == [10_000_000, 11_000_000, 12_000_000])
            }
        }
    }

    /// A first line past `maxHeaderBytes` (a file that is not a click log, or has no line
    /// ends this reader sees) is refused at line 1, quoting its start and no more.
    @Test func aFirstLineLongerThanTheLimitIsRefusedAtLineOne() throws {
        let header = "user_id,item_id,timestamp,label" + String(repeating: ",extra", count: ClickLogReader.maxHeaderBytes / 6 + 1)
        let message = try error(header + "\nu1,1,10,1\n")
        #expect(message.hasPrefix("FILE:1: the first line is longer than 65536 bytes (64 KiB)"), "\(message)")
        #expect(message.contains("it starts 'user_id,item_id,timestamp,label,extra,extra") && message.hasSuffix("…'"), "\(message)")
        #expect(message.count < 300)
        // A few MB without any line end: the same, not one header of the whole file.
        let endless = try error(String(repeating: "user_id,item_id,", count: 200_000))
        #expect(endless.hasPrefix("FILE:1: the first line is longer than 65536 bytes (64 KiB)") && endless.count < 300, "\(endless)")
    }

    /// A row past `maxRowBytes`, or a quote left open for that long, is refused at the line
    /// it starts on instead of read on to the end of the file.
    @Test func aRowLongerThanTheLimitIsRefusedAtItsLine() throws {
        let header = "user_id,item_id,timestamp,label\nu1,1,10,1\n"
        let long = try error(header + "u2," + String(repeating: "9", count: ClickLogReader.maxRowBytes) + ",11,1\nu3,3,12,0\n")
        #expect(long.hasPrefix("FILE:3: the row is longer than 1048576 bytes (1 MiB)"), "\(long.prefix(300))")
        #expect(long.count < 300)
        let open = try error(header + "u2,\"12 vinyl,2,1\n" + String(repeating: "u,1,1,1\n", count: ClickLogReader.maxRowBytes / 8 + 100))
        #expect(open.hasPrefix("FILE:3: a quote opened on this line is not closed within 1048576 bytes (1 MiB)"), "\(open.prefix(300))")
        #expect(open.count < 300)
    }

    /// A field an error quotes is cut and escaped: a terminal's control sequence is shown, not obeyed.
    @Test func quotedFieldsAreCutAndEscaped() throws {
        let header = "user_id,item_id,timestamp,label\n"
        let message = try error(header + "u1,2,\u{1B}[2J" + String(repeating: "x", count: 500) + ",1\n")
        #expect(message.hasPrefix("FILE:2: timestamp '\\u{"), "\(message)")
        #expect(!message.contains("\u{1B}") && message.contains("x…' is neither"), "\(message)")
        #expect(message.count < 400)
    }

    @Test func skippingMalformedRowsCountsThem() throws {
        let log = try read("user_id,item_id,timestamp,label\nu1,1,10,1\nu1,x,10\nu2,2,11,2\nu2,3,12,0\n", skip: true)
        #expect(log.count == 2)
        #expect(log.skippedRows == 2)
        #expect(log.skippedExamples.first?.hasSuffix(":3: expected 4 comma-separated fields, found 3") == true)
    }

    @Test func missingFilesAndEmptySilosAreClearErrors() throws {
        let folder = try Fixtures.temporaryFolder()
        #expect(throws: DataError.fileNotFound(path: folder + "/nope.csv")) { try reader.read(path: folder + "/nope.csv") }
        #expect(throws: DataError.noSiloFiles(folder: folder)) { try reader.read(path: folder) }
        let headerOnly = try Fixtures.writeTemporaryFile("empty.csv", "user_id,item_id,timestamp,label\n")
        #expect(throws: DataError.emptySilo(path: headerOnly)) { try reader.read(path: headerOnly) }
        let allBad = try Fixtures.writeTemporaryFile("bad.csv", "user_id,item_id,timestamp,label\nu,1,t,1\n")
        var skipping = reader
        skipping.skipMalformed = true
        #expect(throws: DataError.emptySilo(path: allBad)) { try skipping.read(path: allBad) }
    }

    @Test func hashedItemsAcceptAnyIdAndAgreeAcrossProcesses() throws {
        // Pinned against an independent FNV-1a-64 (Python): 1 + hash mod 1000.
        let mapping = ItemMapping.hashed(buckets: 1000)
        #expect(mapping.row(for: "SKU-1") == 173)
        #expect(mapping.row(for: "42") == 692)
        #expect(mapping.row(for: "日本") == 170)
        #expect(mapping.rowCount == 1001)
        let log = try ClickLogReader(items: mapping).read(
            path: try Fixtures.writeTemporaryFile("s.csv", "user_id,item_id,timestamp,label\nu,SKU-1,1,1\nu,999999,2,0\n"))
        #expect(log.itemRows[0] == 173)
        #expect((1...1000).contains(log.itemRows[1]))
    }

    @Test func itemMappingsParseFromText() {
        #expect(ItemMapping("catalogue:1682") == .catalogue(items: 1682))
        #expect(ItemMapping("hash:4096") == .hashed(buckets: 4096))
        #expect(ItemMapping("hash:0") == nil)
        #expect(ItemMapping("lookup:5") == nil)
        #expect(ItemMapping.catalogue(items: 5).row(for: "0") == nil)
    }
}
