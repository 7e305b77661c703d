import FedAttnCodec
import FedAttnCore
import FedAttnData
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

/// Click logs as real systems export them: ISO-8601 and fractional timestamps, true/false
/// labels, quoted line breaks, tab-separated files with a header, duplicates, compression.
struct ExportedLogTests {
    let reader = ClickLogReader(items: .hashed(buckets: 1_000), strategies: 2)

    func read(_ text: String, name: String = "silo.csv") throws -> ClickLog {
        try reader.read(path: try Fixtures.writeTemporaryFile(name, text))
    }

    @Test func timestampsInISO8601AndFractionalSecondsAreRead() throws {
        let log = try read(
            """
            user_id,item_id,timestamp,label
            u,a,2024-03-01T12:30:05Z,1
            u,b,2024-03-01T14:30:05.250+02:00,1
            u,c,2024-03-01 12:30:05.5,0
            u,d,1709296205.75,1
            u,e,2024-03-01T07:00:05-0530,0
            u,f,1709296206,1

            """)
        let second: Int64 = 1_709_296_205 * 1_000_000  // 2024-03-01T12:30:05Z
        #expect(log.timestamps == [second, second + 250_000, second + 500_000, second + 750_000, second, second + 1_000_000])
    }

    @Test func aTimestampInNeitherFormIsRefusedNamingFileLineAndForms() throws {
        let path = try Fixtures.writeTemporaryFile("silo.csv", "user_id,item_id,timestamp,label\nu,a,1709296205,1\nu,b,01/03/2024 12:30,1\n")
        let error = try #require(throws: DataError.self) { try reader.read(path: path) }
        #expect(
            error.description
                == "\(path):3: timestamp '01/03/2024 12:30' is neither seconds since 1970 (1709296205 or 1709296205.25) nor ISO-8601 (2024-03-01T12:30:05Z, 2024-03-01 12:30:05.250+02:00)"
        )
        for bad in ["2024-02-30T00:00:00Z", "2024-03-01T25:00:00Z", "2024-03-01T12:30:05+2", "1e9", "12345678901234567"] {
            #expect(throws: DataError.self, "\(bad)") { try read("user_id,item_id,timestamp,label\nu,a,\(bad),1\n") }
        }
    }

    @Test func labelsMayBeTrueOrFalse() throws {
        let log = try read("user_id,item_id,timestamp,label\nu,a,1,true\nu,b,2,FALSE\nu,c,3,1\nu,d,4,False\n")
        #expect(log.labels == [1, 0, 1, 0])
        let path = try Fixtures.writeTemporaryFile("silo.csv", "user_id,item_id,timestamp,label\nu,a,1,yes\n")
        let error = try #require(throws: DataError.self) { try reader.read(path: path) }
        #expect(error.description == "\(path):2: label 'yes' is not 0, 1, true or false")
    }

    @Test func aQuotedFieldHoldingALineBreakReadsBackAndLaterLinesKeepTheirNumbers() throws {
        var log = ClickLog()
        log.append(user: "shop \"north\"\nsecond line", item: "a,b", itemRow: 5, timestamp: 1_500_000, label: 1, strategy: 0)
        log.append(user: "u2", item: "c", itemRow: 6, timestamp: 2_000_000, label: 0, strategy: 1)
        let text = ClickLogWriter.csv(log, includeStrategy: true)
        let back = try read(text)
        #expect(back.userIDs == ["shop \"north\"\nsecond line", "u2"])
        #expect(back.itemIDs == ["a,b", "c"])
        #expect(back.timestamps == [1_500_000, 2_000_000])
        // The record after the two-line one starts on line 4.
        let path = try Fixtures.writeTemporaryFile("silo.csv", text + "u3,d,x,1,0\n")
        let error = try #require(throws: DataError.self) { try reader.read(path: path) }
        #expect(error.description.hasPrefix("\(path):5: timestamp 'x'"), "\(error)")
    }

    @Test func aTabSeparatedFileWithAHeaderIsReadByItsColumnNames() throws {
        let log = try read("item_id\tuser_id\tlabel\ttimestamp\nsku-9\tu1\t1\t2024-03-01T12:30:05Z\nsku-3\tu1\tfalse\t1709296300\n", name: "log.tsv")
        #expect(log.itemIDs == ["sku-9", "sku-3"])
        #expect(log.labels == [1, 0])
        let path = try Fixtures.writeTemporaryFile("log.tsv", "user\titem\tclicked\twhen\nu1\tsku-9\t1\t5\n")
        let error = try #require(throws: DataError.self) { try reader.read(path: path) }
        // Not blamed on the catalogue: the header is named for what it lacks.
        #expect(error.description.contains("header lacks column(s) user_id, item_id, timestamp, label"), "\(error)")
    }

    @Test func duplicateRowsAreCountedOnce() throws {
        let log = try read(
            "user_id,item_id,timestamp,label\nu,a,1,1\nu,b,2,0\nu,a,1,1\nu,a,1,0\nu,c,3,1\nu,a,1,1\nv,a,1,1\nv,d,5,1\nv,e,6,0\n")
        let built = ExampleBuilder().buildCountingDuplicates(log)
        #expect(built.duplicateRows == 2)  // u's third and sixth rows; v's row is another user's
        #expect(built.train.count + built.test.count == log.count - 2)
    }

    @Test func gzipAndZstdFilesAreReadLikeTheirPlainText() throws {
        let text = "user_id,item_id,timestamp,label\nu,a,1,1\nu,b,2,0\nv,c,3,1\n"
        let plain = try Fixtures.writeTemporaryFile("silo.csv", text)
        let zstd = try Fixtures.writeTemporaryFile("silo.csv.zst", "")
        try ZstdFrame.compress(Data(text.utf8)).write(to: URL(fileURLWithPath: zstd))
        // Two gzip members end to end (the header in one, the rows in the other), as cat a.gz b.gz writes.
        let gzip = try ProcessRunner.run(
            "/bin/sh",
            [
                "-c",
                "gzip -c '\(plain)' > '\(plain).gz' && head -n 1 '\(plain)' | gzip > '\(plain).1.gz' && tail -n +2 '\(plain)' | gzip > '\(plain).2.gz'"
                    + " && cat '\(plain).1.gz' '\(plain).2.gz' > '\(plain).twice.gz'",
            ])
        #expect(gzip.status == 0, "\(gzip.standardError)")
        let expected = try reader.read(path: plain)
        for path in [zstd, plain + ".gz"] {
            let log = try reader.read(path: path)
            #expect(log.userIDs == expected.userIDs && log.labels == expected.labels && log.timestamps == expected.timestamps, "\(path)")
        }
        #expect(try reader.read(path: plain + ".twice.gz").count == expected.count)
        let broken = try Fixtures.writeTemporaryFile("silo.csv.gz", "not gzip at all")
        let error = try #require(throws: DataError.self) { try reader.read(path: broken) }
        #expect(error.description.hasPrefix("\(broken): cannot read: not gzip data"), "\(error)")
    }

    @Test func aQuoteNeverClosedIsNamedByTheLineItOpensOn() throws {
        let path = try Fixtures.writeTemporaryFile("silo.csv", "user_id,item_id,timestamp,label\nu,a,1,1\nu,\"12 vinyl,2,1\nu,b,3,0\nu,c,4,1\n")
        let error = try #require(throws: DataError.self) { try reader.read(path: path) }
        #expect(error.description.hasPrefix("\(path):3: a quote opened on this line is never closed"), "\(error)")
    }

    @Test func aFileReadInTinyPiecesReadsAsAWholeOne() throws {
        var log = ClickLog()
        log.append(user: "shop \"north\"\nsecond line", item: "a,b", itemRow: 5, timestamp: 1_500_000, label: 1, strategy: 0)
        for i in 0..<50 {
            log.append(user: "u\(i % 7)", item: "i\(i)", itemRow: 6, timestamp: Int64(i) * 1_000_000, label: UInt8(i % 2), strategy: 1)
        }
        let text = "\u{FEFF}" + ClickLogWriter.csv(log, includeStrategy: true).replacingOccurrences(of: "\n", with: "\r\n")
        let path = try Fixtures.writeTemporaryFile("silo.csv", text)
        let whole = try reader.read(path: path)
        for piece in [1, 2, 3, 7, 64] {
            var small = reader
            small.pieceBytes = piece
            let read = try small.read(path: path)
            #expect(read.userIDs == whole.userIDs && read.itemIDs == whole.itemIDs && read.timestamps == whole.timestamps, "pieces of \(piece)")
        }
        #expect(whole.count == 51 && whole.userIDs.first == "shop \"north\"\r\nsecond line")
    }
}
