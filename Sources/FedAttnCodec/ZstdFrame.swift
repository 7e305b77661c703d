import CZstd
public import Foundation

/// zstd compression of whole payloads, with decompression that refuses to grow past a limit.
public enum ZstdFrame {
    /// Compresses `data` at `level` (1 is fast; 3 is zstd's default).
    public static func compress(_ data: Data, level: Int32 = 3) throws(CodecError) -> Data {
        let bound = ZSTD_compressBound(data.count)
        var out = Data(count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in ZSTD_compress(dst.baseAddress, bound, src.baseAddress, data.count, level) }
        }
        guard ZSTD_isError(written) == 0 else { throw .zstd(String(cString: ZSTD_getErrorName(written))) }
        out.count = written
        return out
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
        // Bound the decoder's window too (2^27 = 128 MiB), which an attacker would otherwise pick.
        ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, 27)
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
            guard ZSTD_isError(status) == 0 else { throw .zstd(String(cString: ZSTD_getErrorName(status))) }
            guard result.count + produced <= maxOutput else { throw .tooLarge(declared: nil, limit: maxOutput) }
            result.append(contentsOf: chunk[0..<produced])
            if status == 0 && input.pos == input.size { return result }
            if input.pos == input.size && produced < chunkSize { throw .truncated }
        }
    }
}
