import FedAttnCodec
import Foundation
import Testing
import _FedAttnTestSupport

/// A seeded mutation fuzzer for zstd frames as they come from outside (`make fuzz-asan` runs
/// it longer, under AddressSanitizer): the frame header's window and content size
/// (`ZstdFrame.windowSize`) and decompression under its limits. Every input gives a window or
/// none, and decompresses within the limit or is refused with a `CodecError`, never a trap,
/// whatever size or window its header declares.
struct ZstdFrameFuzzTests {
    /// Frames of each header shape: single segment with a content size of 1, 2 (the +256 form)
    /// and 4 bytes, streamed with a window descriptor and no size, two frames end to end, and
    /// one behind a skippable frame.
    static func seeds() throws -> [Data] {
        let text = Data((0..<3_000).map { UInt8(truncatingIfNeeded: ($0 * 7) % 61 + 32) })
        let small = try ZstdFrame.compress(Data("user_id,item_id\n".utf8))
        let medium = try ZstdFrame.compress(text.prefix(600))
        let large = try ZstdFrame.compress(Data(count: 70_000))
        let streamed = try ZstdFrame.compressStreaming([text, text], windowLog: 10)
        var skippable = Data([0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4])
        skippable.append(small)
        return [small, medium, large, streamed, try ZstdFrame.compress(Data()), small + medium, skippable]
    }

    @Test func mutatedFramesDecompressWithinTheLimitOrAreRefused() throws {
        let seeds = try Self.seeds()
        // The frame header: descriptor, window descriptor or first size byte, and the size fields.
        let fields = [(4, 1), (5, 1), (5, 2), (5, 4), (6, 4), (6, 8), (0, 4)].map { FuzzMutator.Field(offset: $0.0, width: $0.1) }
        var mutator = FuzzMutator(seed: 20_261_205, fields: fields)
        let iterations = FuzzMutator.iterations(standard: 5_000)
        var decoded = 0
        var refusals: [String: Int] = [:]
        for i in 0..<iterations {
            let frame = mutator.mutate(seeds[i % seeds.count])
            if let window = ZstdFrame.windowSize(of: frame) { #expect(window >= 0, "input \(i)") }
            let limit = [1 << 10, 1 << 16, 1 << 20][i % 3]
            do throws(CodecError) {
                let output = try ZstdFrame.decompress(frame, maxOutput: limit, maxWindowLog: i % 2 == 0 ? ZstdFrame.maxWindowLog : 27)
                #expect(output.count <= limit, "input \(i)")
                decoded += 1
            } catch {
                refusals[Self.kind(error), default: 0] += 1
            }
        }
        let refused = refusals.values.reduce(0, +)
        #expect(decoded + refused == iterations && decoded > 0 && refused > 0)
        print(
            "zstd fuzz: \(iterations) mutated frames, \(decoded) decoded within the limit, \(refused) refused \(refusals.sorted { $0.key < $1.key }), no crash"
        )
    }

    /// Every frame header descriptor with every window descriptor byte, and content-size bytes
    /// at their edges: the window read is nil or a size, never a trap.
    @Test func everyHeaderDescriptorGivesAWindowOrNone() {
        var (windows, negative) = (0, 0)
        for descriptor in 0...255 {
            for window in 0...255 {
                for fill: UInt8 in [0x00, 0xFF] {
                    let header = Data([0x28, 0xB5, 0x2F, 0xFD, UInt8(descriptor), UInt8(window)] + [UInt8](repeating: fill, count: 12))
                    for length in [6, 7, 9, 13, 14, 18] {
                        guard let size = ZstdFrame.windowSize(of: header.prefix(length)) else { continue }
                        windows += 1
                        if size < 0 { negative += 1 }
                    }
                }
            }
        }
        #expect(windows > 0 && negative == 0)
    }

    static func kind(_ error: CodecError) -> String {
        switch error {
        case .notZstd: "notZstd"
        case .truncated: "truncated"
        case .tooLarge: "tooLarge"
        case .windowTooLarge: "windowTooLarge"
        case .zstd: "zstd"
        case .malformed, .otherLayout: "malformed"
        }
    }
}
