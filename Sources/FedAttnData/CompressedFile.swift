import CZlib
import FedAttnCodec
import Foundation

/// A silo file's bytes, inflated when its name says it is compressed: `.gz` (gzip, one or
/// more members, as `gzip` and `cat a.gz b.gz` write) or `.zst` (zstd, as `zstd` writes).
enum CompressedFile {
    /// The most bytes a compressed silo may inflate to (16 GiB): a bomb is refused, not obeyed.
    static let maximumInflatedBytes = 16 << 30

    /// Whether `path` names a compressed file.
    static func isCompressed(_ path: String) -> Bool {
        let name = path.lowercased()
        return name.hasSuffix(".gz") || name.hasSuffix(".zst") || name.hasSuffix(".zstd")
    }

    /// `data` as it is, or inflated for a `.gz` or `.zst` `path`.
    static func contents(_ data: Data, path: String) throws(DataError) -> Data {
        let name = path.lowercased()
        if name.hasSuffix(".zst") || name.hasSuffix(".zstd") {
            do {
                // A silo's own file: any window the zstd tool decodes by default (2^27, `--long`
                // and the ultra levels), not the protocol's bound on what clients send.
                return try ZstdFrame.decompress(data, maxOutput: maximumInflatedBytes, maxWindowLog: 27)
            } catch {
                throw .unreadable(path: path, reason: "not a readable zstd file (\(error)); was it written by zstd?")
            }
        }
        if name.hasSuffix(".gz") { return try gunzip(data, path: path) }
        return data
    }

    private static func gunzip(_ data: Data, path: String) throws(DataError) -> Data {
        var stream = z_stream()
        // 16 + MAX_WBITS: a gzip header and trailer, checked.
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .unreadable(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let failure: String? = data.withUnsafeBytes { (input: UnsafeRawBufferPointer) -> String? in
            guard let base = input.bindMemory(to: Bytef.self).baseAddress else { return "the file is empty" }
            // zlib counts input in 32 bits: feed a file over 4 GiB a piece at a time.
            var fed = 0
            func feed() {
                let piece = min(input.count - fed, Int(UInt32.max))
                stream.next_in = UnsafeMutablePointer(mutating: base + fed)
                stream.avail_in = uInt(piece)
                fed += piece
            }
            feed()
            while true {
                if stream.avail_in == 0 && fed < input.count { feed() }
                let status = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
                if output.count > maximumInflatedBytes { return "it inflates past \(maximumInflatedBytes >> 30) GiB" }
                switch status {
                case Z_OK: continue
                case Z_STREAM_END:
                    // Another gzip member may follow (files concatenated with cat).
                    if stream.avail_in == 0 && fed == input.count { return nil }
                    guard inflateReset(&stream) == Z_OK else { return "a second gzip member could not be read" }
                case Z_BUF_ERROR where stream.avail_in == 0 && fed == input.count: return "the file ends in the middle of its gzip data"
                case Z_BUF_ERROR: continue
                default: return "not gzip data (\(stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"))"
                }
            }
        }
        if let failure { throw .unreadable(path: path, reason: failure) }
        return output
    }
}
