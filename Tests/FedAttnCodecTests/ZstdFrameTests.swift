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
        #expect(throws: CodecError.tooLarge(declared: nil, limit: 1 << 20)) { try ZstdFrame.decompress(bomb, maxOutput: 1 << 20) }
    }

    @Test func truncatedAndForeignInputIsRefused() throws {
        let frame = try ZstdFrame.compress(Data((0..<100_000).map { UInt8($0 % 251) }))
        #expect(throws: CodecError.self) { try ZstdFrame.decompress(frame.prefix(frame.count / 2), maxOutput: 1 << 20) }
        #expect(throws: CodecError.notZstd) { try ZstdFrame.decompress(Data("not zstd at all".utf8), maxOutput: 1 << 20) }
    }

    /// Compresses with the streaming API and no pledged size, as a hostile client might.
    func streamedFrame(of data: Data) throws -> Data {
        let context = try #require(ZSTD_createCCtx())
        defer { ZSTD_freeCCtx(context) }
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(data.count))
        let written = data.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                // Fed in pieces, the encoder cannot know the total, so the header carries none.
                var offset = 0
                while offset < src.count {
                    let piece = min(1 << 20, src.count - offset)
                    var input = ZSTD_inBuffer(src: src.baseAddress! + offset, size: piece, pos: 0)
                    while input.pos < input.size { _ = ZSTD_compressStream2(context, &output, &input, ZSTD_e_continue) }
                    offset += piece
                }
                var empty = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
                while ZSTD_compressStream2(context, &output, &empty, ZSTD_e_end) != 0 {}
                return output.pos
            }
        }
        let frame = Data(out.prefix(written))
        #expect(frame.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) } == ZSTD_CONTENTSIZE_UNKNOWN)
        return frame
    }
}
