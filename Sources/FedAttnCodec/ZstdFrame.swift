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
    /// in advance and so writes no content size into the frame's header, and keeps the level's
    /// window (2^21 at level 3) however little follows. (The load generator uses it to make
    /// decompression bombs that hide their size.) `windowLog` sets the window instead (10...31).
    public static func compressStreaming(_ pieces: some Sequence<Data>, level: Int32 = 3, windowLog: Int32? = nil) throws(CodecError) -> Data {
        guard let context = ZSTD_createCCtx() else { throw .zstd("cannot allocate a compression context") }
        defer { ZSTD_freeCCtx(context) }
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        if let windowLog {
            let set = ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, windowLog)
            guard ZSTD_isError(set) == 0 else { throw .zstd(String(cString: ZSTD_getErrorName(set))) }
        }
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

    /// The largest window a frame may ask its decoder for, as a power of two: 2^23 bytes
    /// (8 MiB). Enough for zstd's levels 1 to 19 through any API, the streaming ones included
    /// (which keep the level's window, 2^21 at level 3, when they cannot know the size); not
    /// for the "ultra" levels 20 to 22 (2^25 to 2^27). The decoder holds up to this much per
    /// payload being decoded, whatever the payload's size: a hostile 2^27 would cost 128 MiB.
    /// (The protocol's `Limits.max_zstd_window_log`.)
    public static let maxWindowLog = 23

    /// The most bytes `decompress` sets aside before decoding, whatever size a frame's header
    /// declares (64 MiB: more than any update or model payload of the benchmarks).
    static let maxReservedBytes = 64 << 20

    /// The window `frame` asks its decoder for, in bytes, read from its header (RFC 8878
    /// section 3.1.1.1): the Window_Descriptor's size, or for a single-segment frame its
    /// content size. Nil when `frame` does not start with a zstd frame header (zstd itself
    /// then says what is wrong).
    public static func windowSize(of frame: Data) -> Int? {
        let bytes = [UInt8](frame.prefix(14))
        guard bytes.count >= 6, bytes[0] == 0x28, bytes[1] == 0xB5, bytes[2] == 0x2F, bytes[3] == 0xFD else { return nil }
        let descriptor = bytes[4]
        let singleSegment = descriptor & 0x20 != 0
        guard singleSegment else {
            // Window_Descriptor: exponent in the high 5 bits, mantissa in the low 3.
            let exponent = Int(bytes[5] >> 3), mantissa = Int(bytes[5] & 7)
            let base = 1 << (10 + exponent)
            return base + (base / 8) * mantissa
        }
        // Single segment: the window is the content size, after the dictionary id.
        let dictionaryBytes = [0, 1, 2, 4][Int(descriptor & 3)]
        let sizeBytes = [1, 2, 4, 8][Int(descriptor >> 6)]
        let start = 5 + dictionaryBytes
        guard bytes.count >= start + sizeBytes else { return nil }
        var size: UInt64 = 0
        for k in 0..<sizeBytes { size |= UInt64(bytes[start + k]) << (8 * UInt64(k)) }
        return Int(clamping: sizeBytes == 2 ? size + 256 : size)
    }

    /// Decompresses a frame, refusing (before and while decompressing) to produce more than
    /// `maxOutput` bytes: a frame that declares a larger size is refused unread, and one that
    /// declares none is decompressed in pieces and stopped at the limit. A frame whose window
    /// is over 2^`maxWindowLog` bytes is refused before a byte is decoded. Peak memory stays
    /// near `maxOutput` plus the window whatever the input claims.
    /// - Throws: `CodecError.tooLarge` (the output), `.windowTooLarge` (naming the window),
    ///   `.notZstd`, `.truncated` or `.zstd`.
    public static func decompress(_ data: Data, maxOutput: Int, maxWindowLog: Int = ZstdFrame.maxWindowLog) throws(CodecError) -> Data {
        if let window = windowSize(of: data), window > 1 << maxWindowLog { throw .windowTooLarge(window: window, limit: 1 << maxWindowLog) }
        let bytes = [UInt8](data)
        return try bytes.withUnsafeBytes { src in
            Result { () throws(CodecError) in try decompress(src, maxOutput: maxOutput, maxWindowLog: maxWindowLog) }
        }.get()
    }

    private static func decompress(_ src: UnsafeRawBufferPointer, maxOutput: Int, maxWindowLog: Int) throws(CodecError) -> Data {
        let declared = ZSTD_getFrameContentSize(src.baseAddress, src.count)
        if declared == ZSTD_CONTENTSIZE_ERROR { throw .notZstd }
        if declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > UInt64(maxOutput) {
            throw .tooLarge(declared: Int(clamping: declared), limit: maxOutput)
        }
        guard let context = ZSTD_createDCtx() else { throw .zstd("cannot allocate a decompression context") }
        defer { ZSTD_freeDCtx(context) }
        // The decoder enforces the window too (for a frame after the first, which the header
        // check above does not read).
        ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, Int32(maxWindowLog))
        var result = Data()
        // The header's size is a claim, checked only as the frame decodes: sized by it up to
        // `maxReservedBytes` (a silo's own file may declare up to 16 GiB), grown past that.
        if declared != ZSTD_CONTENTSIZE_UNKNOWN { result.reserveCapacity(Int(min(declared, UInt64(maxReservedBytes)))) }
        let chunkSize = ZSTD_DStreamOutSize()
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
        while true {
            let (status, produced) = chunk.withUnsafeMutableBytes { buffer in
                var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: chunkSize, pos: 0)
                let status = ZSTD_decompressStream(context, &output, &input)
                return (status, output.pos)
            }
            if ZSTD_getErrorCode(status) == ZSTD_error_frameParameter_windowTooLarge { throw .windowTooLarge(window: nil, limit: 1 << maxWindowLog) }
            guard ZSTD_isError(status) == 0 else { throw .zstd(String(cString: ZSTD_getErrorName(status))) }
            guard result.count + produced <= maxOutput else { throw .tooLarge(declared: nil, limit: maxOutput) }
            result.append(contentsOf: chunk[0..<produced])
            if status == 0 && input.pos == input.size { return result }
            if input.pos == input.size && produced < chunkSize { throw .truncated }
        }
    }
}
