import CZstd
import FedAttnCodec
import Foundation
import Testing

struct ZstdFrameTests {
    @Test func aRoundTripIsBitExact() throws {
        var bytes = [UInt8](repeating: 0, count: 300_000)
        var state: UInt32 = 1
        for i in bytes.indices {
            state = state &* 1_664_525 &+ 1_013_904_223
            bytes[i] = i % 3 == 0 ? 0 : UInt8(truncatingIfNeeded: state >> 24)
        }
        let data = Data(bytes)
        let compressed = try ZstdFrame.compress(data)
        #expect(compressed.count < data.count)
        #expect(try ZstdFrame.decompress(compressed, maxOutput: data.count) == data)
    }

    @Test func aBombThatDeclaresItsSizeIsRefusedUnread() throws {
        let bomb = try ZstdFrame.compress(Data(count: 64 << 20))  // 64 MiB of zeros, a few KB compressed
        #expect(bomb.count < 10_000)
        #expect(throws: CodecError.tooLarge(declared: 64 << 20, limit: 1 << 20)) { try ZstdFrame.decompress(bomb, maxOutput: 1 << 20) }
    }

    @Test func aBombThatHidesItsSizeIsStoppedAtTheLimit() throws {
        // A streamed frame carries no content size; only the running cap can stop it.
        let bomb = try streamedFrame(of: Data(count: 64 << 20))
        #expect(throws: CodecError.tooLarge(declared: nil, limit: 4 << 20)) { try ZstdFrame.decompress(bomb, maxOutput: 4 << 20) }
        // Below its 2 MiB window too: the window is bounded on its own (`maxWindowLog`), the
        // output by the running cap.
        #expect(throws: CodecError.tooLarge(declared: nil, limit: 1 << 20)) { try ZstdFrame.decompress(bomb, maxOutput: 1 << 20) }
    }

    @Test func anyWindowUpToTheLimitIsAcceptedWhateverThePayloadsSize() throws {
        // zstd's streaming default at level 3 (no content size): a 2 MiB window for 100 KB. The
        // window is not bounded by the output limit, which is far smaller.
        let data = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7 % 251) })
        let streamed = try ZstdFrame.compressStreaming([data])
        #expect(ZstdFrame.windowSize(of: streamed) == 1 << 21)
        #expect(try ZstdFrame.decompress(streamed, maxOutput: 264_529) == data)
        let widest = try ZstdFrame.compressStreaming([data], windowLog: Int32(ZstdFrame.maxWindowLog))
        #expect(ZstdFrame.windowSize(of: widest) == 1 << ZstdFrame.maxWindowLog)
        #expect(try ZstdFrame.decompress(widest, maxOutput: 264_529) == data)
        // A frame that states its size in one segment: its window is that size.
        let oneShot = try ZstdFrame.compress(data)
        #expect((ZstdFrame.windowSize(of: oneShot) ?? 0) <= 1 << 17)
        #expect(ZstdFrame.windowSize(of: Data("not zstd at all".utf8)) == nil)
    }

    @Test func aWindowOverTheLimitIsRefusedNamingTheWindowNotTheSize() throws {
        let data = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 % 13) })
        let wide = try ZstdFrame.compressStreaming([data], windowLog: Int32(ZstdFrame.maxWindowLog + 1))
        #expect(ZstdFrame.windowSize(of: wide) == 1 << (ZstdFrame.maxWindowLog + 1))
        #expect(throws: CodecError.windowTooLarge(window: 1 << 24, limit: 1 << 23)) { try ZstdFrame.decompress(wide, maxOutput: 1 << 30) }
        let message = "\(CodecError.windowTooLarge(window: 1 << 24, limit: 1 << 23))"
        #expect(message.contains("window of 16777216 bytes, over the largest accepted, 8388608"), "\(message)")
    }

    @Test func truncatedAndForeignInputIsRefused() throws {
        let frame = try ZstdFrame.compress(Data((0..<100_000).map { UInt8($0 % 251) }))
        #expect(throws: CodecError.self) { try ZstdFrame.decompress(frame.prefix(frame.count / 2), maxOutput: 1 << 20) }
        #expect(throws: CodecError.notZstd) { try ZstdFrame.decompress(Data("not zstd at all".utf8), maxOutput: 1 << 20) }
    }

    /// Compresses with the streaming API and no pledged size, as a hostile client might.
    func streamedFrame(of data: Data) throws -> Data {
        let pieces = stride(from: 0, to: data.count, by: 1 << 20).map { data[$0..<min($0 + (1 << 20), data.count)] }
        let frame = try ZstdFrame.compressStreaming(pieces)
        #expect(frame.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) } == ZSTD_CONTENTSIZE_UNKNOWN)
        #expect(try ZstdFrame.decompress(frame, maxOutput: data.count) == data)
        return frame
    }
}
