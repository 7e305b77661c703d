import CZstd
public import Foundation

/// zstd compression of whole payloads, with decompression that refuses to grow past a limit.
public enum ZstdFrame {
    /// Compresses `data` at `level` (1 is fast; 3 is zstd's default).
    public static func compress(_ data: some ContiguousBytes, level: Int32 = 3) throws(CodecError) -> Data {
        // Into a buffer of zstd's worst-case bound, then shrunk in place: a large block is
        // the system's (mmap) and is only resident where written, and shrinking it gives the
        // tail back, so the payload is never copied. (The coordinator keeps two.)
        let (buffer, written) = data.withUnsafeBytes { src in
            let bound = ZSTD_compressBound(src.count)
            let buffer = malloc(max(bound, 1))!
            return (buffer, ZSTD_compress(buffer, bound, src.baseAddress, src.count, level))
        }
        guard ZSTD_isError(written) == 0 else {
            free(buffer)
            throw .zstd(String(cString: ZSTD_getErrorName(written)))
        }
        let exact = realloc(buffer, max(written, 1)) ?? buffer
        return Data(bytesNoCopy: exact, count: written, deallocator: .free)
    }

    /// Compresses `pieces` as one frame with zstd's streaming API, which cannot know the total
    /// in advance and so writes no content size into the frame's header. (The load generator
    /// uses it to make decompression bombs that hide their size.)
    public static func compressStreaming(_ pieces: some Sequence<Data>, level: Int32 = 3) throws(CodecError) -> Data {
        guard let context = ZSTD_createCCtx() else { throw .zstd("cannot allocate a compression context") }
        defer { ZSTD_freeCCtx(context) }
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        var frame = Data()
        var buffer = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        func drain(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws(CodecError) {
            while true {
                let (remaining, written) = buffer.withUnsafeMutableBytes { dst in
                    var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                    let remaining = ZSTD_compressStream2(context, &output, &input, directive)
                    return (remaining, output.pos)
                }
                guard ZSTD_isError(remaining) == 0 else { throw .zstd(String(cString: ZSTD_getErrorName(remaining))) }
                frame.append(contentsOf: buffer[0..<written])
                let done = directive == ZSTD_e_end ? remaining == 0 : input.pos == input.size
                if done { return }
            }
        }
        for piece in pieces {
            try piece.withUnsafeBytes { src in
                var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
                return Result { () throws(CodecError) in try drain(&input, ZSTD_e_continue) }
            }.get()
        }
        var end = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        try drain(&end, ZSTD_e_end)
        return frame
    }

    /// Decompresses a frame, refusing (before and while decompressing) to produce more than
    /// `maxOutput` bytes: a frame that declares a larger size is refused unread, and one that
    /// declares none is decompressed in pieces and stopped at the limit. Peak memory stays
    /// near `maxOutput` whatever the input claims.
    public static func decompress(_ data: Data, maxOutput: Int) throws(CodecError) -> Data {
        let bytes = [UInt8](data)
        return try bytes.withUnsafeBytes { src in
            Result { () throws(CodecError) in try decompress(src, maxOutput: maxOutput) }
        }.get()
    }

    private static func decompress(_ src: UnsafeRawBufferPointer, maxOutput: Int) throws(CodecError) -> Data {
        let declared = ZSTD_getFrameContentSize(src.baseAddress, src.count)
        if declared == ZSTD_CONTENTSIZE_ERROR { throw .notZstd }
        if declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > UInt64(maxOutput) {
            throw .tooLarge(declared: Int(clamping: declared), limit: maxOutput)
        }
        guard let context = ZSTD_createDCtx() else { throw .zstd("cannot allocate a decompression context") }
        defer { ZSTD_freeDCtx(context) }
        // Bound the decoder's window too, which the frame picks: no legitimate frame needs a
        // window larger than its output, and a hostile 2^27 would cost 128 MiB per upload.
        let windowLog = min(27, max(10, Int32(log2(Double(maxOutput)).rounded(.up))))
        ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, windowLog)
        var result = Data()
        if declared != ZSTD_CONTENTSIZE_UNKNOWN { result.reserveCapacity(Int(declared)) }
        let chunkSize = ZSTD_DStreamOutSize()
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
        while true {
            let (status, produced) = chunk.withUnsafeMutableBytes { buffer in
                var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: chunkSize, pos: 0)
                let status = ZSTD_decompressStream(context, &output, &input)
                return (status, output.pos)
            }
            if ZSTD_getErrorCode(status) == ZSTD_error_frameParameter_windowTooLarge { throw .tooLarge(declared: nil, limit: maxOutput) }
            guard ZSTD_isError(status) == 0 else { throw .zstd(String(cString: ZSTD_getErrorName(status))) }
            guard result.count + produced <= maxOutput else { throw .tooLarge(declared: nil, limit: maxOutput) }
            result.append(contentsOf: chunk[0..<produced])
            if status == 0 && input.pos == input.size { return result }
            if input.pos == input.size && produced < chunkSize { throw .truncated }
        }
    }
}
