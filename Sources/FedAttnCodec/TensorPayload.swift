public import FedAttnCore
public import Foundation

/// How named tensors travel: a small binary header, then all values byte-shuffled (byte k
/// of every value together, so zstd finds the repeated sign and exponent bytes), all in one
/// zstd frame. Layout, before compression, little-endian:
///
///     "FAT1"  u8 precision (0 float32, 1 float16)  u32 tensor count
///     per tensor: u16 name length, name (UTF-8), u8 rank, u32 dims[rank],
///                 u8 sparse, [u32 row count, u32 rows[count] ascending], u32 value count
///     the values of all tensors, byte-shuffled
public enum TensorPayload {
    public enum Precision: UInt8, Sendable {
        /// Exact: models. A model download as a catch-up from an older version the client
        /// holds is float32 too, with the table sent as rows: the listed rows' and the other
        /// tensors' values replace the held ones.
        case float32 = 0
        /// Half the bytes, ~3 significant digits: deltas, whose rounding averages out.
        case float16 = 1
        /// A model download as a delta from a version the client holds: float32 steps, each
        /// added to the held value (one IEEE-754 binary32 addition, as the coordinator made
        /// the new model), so the result is exact. The coordinator rounds its steps to 11
        /// significant bits, so their low mantissa bytes are zero and zstd packs them. A
        /// table sent as rows lists the rows that moved.
        case float32Step = 2

        var byteWidth: Int { self == .float16 ? 2 : 4 }
    }

    static let magic: [UInt8] = Array("FAT1".utf8)

    /// The largest payload a layout can have once decompressed (all rows listed, float32):
    /// the tight limit for decoding anything sent for that layout.
    public static func maximumSize(of layout: ParameterLayout) -> Int {
        var size = magic.count + 1 + 4
        for spec in layout.tensors {
            // name, rank, dims, sparse flag, value count; a table may also list all its rows.
            size += 2 + spec.name.utf8.count + 1 + 4 * spec.shape.count + 1 + 4
            if spec.shape.count == 2 { size += 4 + 4 * spec.shape[0] }
        }
        return size + 4 * layout.count
    }

    /// Encodes and compresses.
    public static func encode(_ weights: SparseWeights, precision: Precision, level: Int32 = 3) throws(CodecError) -> Data {
        var values: [Float] = []
        values.reserveCapacity(weights.scalarCount)
        for tensor in weights.tensors { values += tensor.values }
        return try encode(
            layout: weights.layout, rows: weights.tensors.map(\.rows), counts: weights.tensors.map(\.values.count), values: values,
            precision: precision, level: level)
    }

    /// Encodes and compresses dense weights straight from their buffer (the coordinator's
    /// model: no gathered copy).
    public static func encode(_ weights: Weights, precision: Precision, level: Int32 = 3) throws(CodecError) -> Data {
        var out = Data()
        do {
            try encode(weights, precision: precision, level: level) { out.append(contentsOf: $0) }
        } catch let error as CodecError {
            throw error
        } catch {
            throw .zstd("\(error)")
        }
        return out
    }

    /// Encodes and compresses dense weights, handing the payload's bytes to `sink` as they
    /// are made: the payload is never whole in memory (a 4M-row model's is 480 MB). The
    /// bytes are those `encode(_:precision:level:)` returns.
    /// - Throws: `CodecError`, or what `sink` throws.
    public static func encode(
        _ weights: Weights, precision: Precision, level: Int32 = 3, to sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try encode(weights, rows: weights.layout.tensors.map { _ in nil }, precision: precision, level: level, to: sink)
    }

    /// Encodes and compresses `weights` with some tables sent as rows, streaming, as above:
    /// `rows[i]` lists the rows of tensor i to send (ascending, within its first dimension),
    /// nil sends it whole. The values are read from `weights`' buffer (nothing gathered).
    /// - Throws: `CodecError`, or what `sink` throws.
    public static func encode(
        _ weights: Weights, rows: [[Int32]?], precision: Precision, level: Int32 = 3, to sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let layout = weights.layout
        precondition(rows.count == layout.tensors.count, "One row list (or nil) per tensor.")
        // The stretches of the buffer sent, in payload order: a whole tensor, or one row.
        var stretches: [Range<Int>] = []
        var counts: [Int] = []
        for (i, spec) in layout.tensors.enumerated() {
            let range = layout.range(at: i)
            guard let list = rows[i] else {
                stretches.append(range)
                counts.append(spec.elementCount)
                continue
            }
            precondition(spec.shape.count == 2, "Only a table is sent as rows.")
            let width = spec.shape[1]
            for row in list {
                precondition(row >= 0 && Int(row) < spec.shape[0], "Row \(row) lies within \(spec.name).")
                stretches.append((range.lowerBound + Int(row) * width)..<(range.lowerBound + (Int(row) + 1) * width))
            }
            counts.append(list.count * width)
        }
        let header = self.header(layout: layout, rows: rows, counts: counts, precision: precision)
        let width = precision.byteWidth, n = counts.reduce(0, +)
        try withoutActuallyEscaping(sink) { sink in
            let writer = try ZstdStreamWriter(level: level, pledgedSize: header.count + n * width, sink: sink)
            try header.withUnsafeBytes { try writer.write($0) }
            // Plane by plane (byte k of every value), a buffer's worth of values at a time.
            let capacity = 1 << 20
            var plane = [UInt8](repeating: 0, count: capacity)
            var filled = 0
            func flush() throws {
                try plane.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<filled])) }
                filled = 0
            }
            try weights.values.withUnsafeBufferPointer { values in
                for k in 0..<width {
                    for stretch in stretches {
                        var start = stretch.lowerBound
                        while start < stretch.upperBound {
                            let end = min(stretch.upperBound, start + capacity - filled)
                            plane.withUnsafeMutableBufferPointer { out in
                                for i in start..<end {
                                    let bits: UInt32 = precision == .float16 ? UInt32(Float16(values[i]).bitPattern) : values[i].bitPattern
                                    out[filled + i - start] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k)))
                                }
                            }
                            filled += end - start
                            start = end
                            if filled == capacity { try flush() }
                        }
                    }
                }
                if filled > 0 { try flush() }
            }
            try writer.finish()
        }
    }

    private static func encode(
        layout: ParameterLayout, rows: [[Int32]?], counts: [Int], values: [Float], precision: Precision, level: Int32
    ) throws(CodecError) -> Data {
        var raw = header(layout: layout, rows: rows, counts: counts, precision: precision)
        raw.reserveCapacity(raw.count + values.count * precision.byteWidth)
        appendShuffled(values, precision: precision, to: &raw)
        return try ZstdFrame.compress(raw, level: level)
    }

    /// The payload's header, before the values.
    private static func header(layout: ParameterLayout, rows: [[Int32]?], counts: [Int], precision: Precision) -> [UInt8] {
        var header = ByteWriter()
        header.bytes(magic)
        header.u8(Int(precision.rawValue))
        header.u32(layout.tensors.count)
        for (index, spec) in layout.tensors.enumerated() {
            let name = Array(spec.name.utf8)
            header.u16(name.count)
            header.bytes(name)
            header.u8(spec.shape.count)
            for dim in spec.shape { header.u32(dim) }
            if let rows = rows[index] {
                header.u8(1)
                header.u32(rows.count)
                for row in rows { header.u32(Int(row)) }
            } else {
                header.u8(0)
            }
            header.u32(counts[index])
        }
        return header.data
    }

    /// Decompresses (at most `maxBytes`, from a zstd frame whose window is at most
    /// 2^`ZstdFrame.maxWindowLog` bytes) and decodes a payload that must carry exactly the
    /// tensors of `layout`, in order, with their shapes, in one of the `accepted` precisions
    /// (float32Step values come back as the steps).
    public static func decode(
        _ data: Data, expecting layout: ParameterLayout, maxBytes: Int, accepting accepted: Set<Precision> = [.float32, .float16]
    ) throws(CodecError) -> SparseWeights {
        try decodeTagged(data, expecting: layout, maxBytes: maxBytes, accepting: accepted).weights
    }

    /// `decode`, also telling the payload's precision (a model download's says whether its
    /// values are added to the held ones or replace them).
    public static func decodeTagged(
        _ data: Data, expecting layout: ParameterLayout, maxBytes: Int, accepting accepted: Set<Precision>
    ) throws(CodecError) -> (weights: SparseWeights, precision: Precision) {
        let raw = try ZstdFrame.decompress(data, maxOutput: maxBytes)
        var reader = ByteReader(raw)
        guard try reader.bytes(4) == magic else { throw .malformed("it does not start with FAT1") }
        let tag = try reader.u8()
        guard let precision = Precision(rawValue: UInt8(tag)), accepted.contains(precision) else {
            throw .malformed("precision \(tag) is not accepted here (\(accepted.map { "\($0.rawValue)" }.sorted().joined(separator: ", ")))")
        }
        let count = try reader.u32()
        guard count == layout.tensors.count else {
            // Which tensors: a client that left one out (or sent one more) sees which the model has.
            throw .otherLayout("\(count) tensors, expected \(layout.tensors.count): \(layout.tensors.map(\.name).joined(separator: ", "))")
        }
        var entries: [(rows: [Int32]?, valueCount: Int)] = []
        for spec in layout.tensors {
            let name = String(decoding: try reader.bytes(try reader.u16()), as: UTF8.self)
            guard name == spec.name else { throw .otherLayout("tensor '\(name)' where '\(spec.name)' was expected") }
            let rank = try reader.u8()
            let shape = try (0..<rank).map { _ throws(CodecError) in try reader.u32() }
            guard shape == spec.shape else { throw .malformed("tensor '\(name)' has shape \(shape), expected \(spec.shape)") }
            var rows: [Int32]?
            var expected = spec.elementCount
            let sparse = try reader.u8()
            guard sparse <= 1 else { throw .malformed("tensor '\(name)' has sparse flag \(sparse); it must be 0 or 1") }
            if sparse == 1 {
                guard shape.count == 2 else { throw .malformed("tensor '\(name)' is sent as rows but is not a table") }
                let rowCount = try reader.u32()
                guard rowCount <= shape[0] else { throw .malformed("tensor '\(name)' sends \(rowCount) rows of \(shape[0])") }
                var list: [Int32] = []
                list.reserveCapacity(rowCount)
                for _ in 0..<rowCount {
                    let row = try reader.u32()
                    guard row < shape[0], list.last.map({ Int($0) < row }) ?? true else {
                        throw .malformed("tensor '\(name)' lists row \(row) out of order or beyond \(shape[0])")
                    }
                    list.append(Int32(row))
                }
                rows = list
                expected = rowCount * shape[1]
            }
            let valueCount = try reader.u32()
            guard valueCount == expected else { throw .malformed("tensor '\(name)' carries \(valueCount) values, expected \(expected)") }
            entries.append((rows, valueCount))
        }
        let total = entries.reduce(0) { $0 + $1.valueCount }
        guard reader.remaining == total * precision.byteWidth else {
            throw .malformed("\(reader.remaining) value bytes for \(total) values of \(precision.byteWidth) bytes")
        }
        var values = unshuffle(reader.rest(), count: total, precision: precision)[...]
        let tensors = entries.map { entry in
            defer { values = values.dropFirst(entry.valueCount) }
            return SparseWeights.Tensor(rows: entry.rows, values: Array(values.prefix(entry.valueCount)))
        }
        return (SparseWeights(layout: layout, tensors: tensors), precision)
    }

    /// Byte k of every value, for k = 0, 1, ...
    /// Appends `values` byte-shuffled: byte k of value i at k * n + i.
    static func appendShuffled(_ values: [Float], precision: Precision, to out: inout [UInt8]) {
        let width = precision.byteWidth, n = values.count, base = out.count
        out.append(contentsOf: repeatElement(0, count: n * width))
        out.withUnsafeMutableBufferPointer { bytes in
            for (i, value) in values.enumerated() {
                let bits: UInt32 = precision == .float16 ? UInt32(Float16(value).bitPattern) : value.bitPattern
                for k in 0..<width { bytes[base + k * n + i] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k))) }
            }
        }
    }

    /// The values of `bytes` (n values byte-shuffled, as `appendShuffled` writes them).
    /// The caller has checked that `bytes` holds exactly n values of `precision`.
    static func unshuffle(_ bytes: ArraySlice<UInt8>, count n: Int, precision: Precision) -> [Float] {
        precondition(bytes.count == n * precision.byteWidth, "\(bytes.count) bytes for \(n) values")
        return bytes.withUnsafeBufferPointer { source in
            let planes = source.baseAddress!
            return [Float](unsafeUninitializedCapacity: n) { out, initialized in
                if precision == .float16 {
                    for i in 0..<n {
                        let bits = UInt16(planes[i]) | UInt16(planes[n + i]) << 8
                        out[i] = Float(Float16(bitPattern: bits))
                    }
                } else {
                    // Plane by plane into the values' own storage: four sequential passes.
                    let words = UnsafeMutableRawPointer(out.baseAddress!).bindMemory(to: UInt32.self, capacity: n)
                    for i in 0..<n { words[i] = UInt32(planes[i]) }
                    for k in 1..<4 {
                        let plane = planes + k * n, shift = UInt32(8 * k)
                        for i in 0..<n { words[i] |= UInt32(plane[i]) << shift }
                    }
                }
                initialized = n
            }
        }
    }
}

/// Little-endian writing of the payload header.
struct ByteWriter {
    private(set) var data: [UInt8] = []
    mutating func bytes(_ b: [UInt8]) { data += b }
    mutating func u8(_ v: Int) { data.append(UInt8(v)) }
    mutating func u16(_ v: Int) { for k in 0..<2 { data.append(UInt8(truncatingIfNeeded: v >> (8 * k))) } }
    mutating func u32(_ v: Int) { for k in 0..<4 { data.append(UInt8(truncatingIfNeeded: v >> (8 * k))) } }
}

/// Little-endian reading that never reads past the end.
struct ByteReader {
    private let bytes: [UInt8]
    private var position = 0
    init(_ data: Data) { bytes = [UInt8](data) }

    var remaining: Int { bytes.count - position }

    mutating func bytes(_ n: Int) throws(CodecError) -> [UInt8] {
        guard n <= remaining else { throw .malformed("it ends early") }
        defer { position += n }
        return Array(bytes[position..<(position + n)])
    }
    mutating func u8() throws(CodecError) -> Int { Int(try bytes(1)[0]) }
    mutating func u16() throws(CodecError) -> Int { try bytes(2).reversed().reduce(0) { $0 << 8 | Int($1) } }
    mutating func u32() throws(CodecError) -> Int { try bytes(4).reversed().reduce(0) { $0 << 8 | Int($1) } }
    mutating func rest() -> ArraySlice<UInt8> { bytes[position...] }
}
