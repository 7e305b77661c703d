import CZstd
import Foundation

/// Compresses bytes handed to it piece by piece into one zstd frame, passing the compressed
/// bytes on to `sink` as they come out: memory stays one output buffer (128 KiB) however
/// large the frame. With `pledgedSize` the frame's header records the content size, so a
/// reader can check it before decompressing.
public final class ZstdStreamWriter {
    private let context: OpaquePointer
    private var buffer: [UInt8]
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private var finished = false

    /// - Throws: `CodecError.zstd` when zstd cannot start.
    public init(level: Int32 = 3, pledgedSize: Int? = nil, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let context = ZSTD_createCCtx() else { throw CodecError.zstd("cannot allocate a compression context") }
        self.context = context
        self.sink = sink
        buffer = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        if let pledgedSize { ZSTD_CCtx_setPledgedSrcSize(context, UInt64(pledgedSize)) }
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `bytes` (what comes out goes to the sink now or with later writes).
    /// - Throws: `CodecError.zstd`, or what the sink throws.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "A finished zstd frame takes no more bytes.")
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        try drain(&input, ZSTD_e_continue)
    }

    /// Ends the frame, handing its last bytes to the sink.
    /// - Throws: `CodecError.zstd` (for example fewer bytes written than pledged), or what the sink throws.
    public func finish() throws {
        precondition(!finished, "A zstd frame is finished once.")
        finished = true
        var end = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        try drain(&end, ZSTD_e_end)
    }

    private func drain(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws {
        while true {
            let (remaining, written) = buffer.withUnsafeMutableBytes { dst in
                var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                let remaining = ZSTD_compressStream2(context, &output, &input, directive)
                return (remaining, output.pos)
            }
            guard ZSTD_isError(remaining) == 0 else { throw CodecError.zstd(String(cString: ZSTD_getErrorName(remaining))) }
            if written > 0 { try buffer.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<written])) } }
            let done = directive == ZSTD_e_end ? remaining == 0 : input.pos == input.size
            if done { return }
        }
    }
}
