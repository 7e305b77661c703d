public import FedAttnCore
public import Foundation

/// Reading and writing `.safetensors` files (https://github.com/huggingface/safetensors):
/// an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
/// and byte range, then the raw little-endian data. Python's `safetensors` reads our files
/// as they are; we write and read Float32 tensors only.
public enum Safetensors {
    /// Headers beyond this are refused rather than parsed: 1 MiB. Our own files' headers are
    /// under 2 KB (ten tensors and the configuration); the format's own limit, 100 MB,
    /// would let a file from outside spend gigabytes on parsing its JSON.
    static let maxHeaderBytes = 1 << 20

    /// What a file's header says, checked against the file's length: every size in it fits
    /// in the file, so that nothing sized by it can be larger than the file.
    public struct Header: Sendable {
        /// The `__metadata__` strings (empty when there are none).
        public let metadata: [String: String]
        /// The tensors in the order of their data, which lies end to end after the header.
        public let layout: ParameterLayout
        /// Where the first tensor's data starts in the file.
        let dataStart: Int
    }

    /// Encodes `weights` in layout order, with `metadata` under `__metadata__`.
    public static func encode(_ weights: Weights, metadata: [String: String]) throws -> Data {
        var out = Data(capacity: 8 + 1024 + weights.values.count * 4)
        try write(weights, metadata: metadata) { out.append(contentsOf: $0) }
        return out
    }

    /// The file's bytes for `weights`, handed to `sink` in pieces: the header, then the
    /// values straight from their buffer (little-endian float32, as this machine holds
    /// them), so a model is written without a copy of it in memory.
    public static func write(_ weights: Weights, metadata: [String: String], to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        for (i, tensor) in weights.layout.tensors.enumerated() {
            let range = weights.layout.range(at: i)
            header[tensor.name] =
                [
                    "dtype": "F32",
                    "shape": tensor.shape,
                    "data_offsets": [range.lowerBound * 4, range.upperBound * 4],
                ] as [String: Any]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        while json.count % 8 != 0 { json.append(0x20) }
        try withUnsafeBytes(of: UInt64(json.count).littleEndian) { try sink($0) }
        try json.withUnsafeBytes { try sink($0) }
        try weights.values.withUnsafeBufferPointer { values in
            #if _endian(little)
                let bytes = UnsafeRawBufferPointer(values)
                var start = 0
                while start < bytes.count {
                    let end = min(start + (8 << 20), bytes.count)
                    try sink(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                    start = end
                }
            #else
                for v in values { try withUnsafeBytes(of: v.bitPattern.littleEndian) { try sink($0) } }
            #endif
        }
    }

    /// Decodes a file's bytes into weights (tensors in the order of their data) and metadata.
    /// `source` names the file in errors.
    public static func decode(_ data: Data, source: String) throws -> (weights: Weights, metadata: [String: String]) {
        let header = try readHeader(data, source: source)
        return (weights(data, header: header), header.metadata)
    }

    /// Reads and checks `data`'s header without touching any tensor's data: the tensors'
    /// dtypes (F32 only), shapes and byte ranges, which must lie end to end and fill the
    /// rest of the file. Sizes are multiplied without overflow, so no header can make a
    /// caller allocate more than the file holds, or trap.
    /// - Throws: `SafetensorsError` naming `source` and what is wrong.
    public static func readHeader(_ data: Data, source: String) throws -> Header {
        func fail(_ why: String) -> SafetensorsError { SafetensorsError(source: source, reason: why) }
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= maxHeaderBytes else {
            throw fail("header length \(headerLength) is more than \(maxHeaderBytes) bytes, the most this reader parses")
        }
        guard 8 + Int(headerLength) <= data.count else { throw fail("header length \(headerLength) does not fit in a \(data.count)-byte file") }
        let dataStart = 8 + Int(headerLength)
        let headerBytes = data.subdata(in: data.startIndex + 8..<data.startIndex + dataStart)
        guard let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var entries: [(spec: TensorSpec, begin: Int, end: Int)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw fail("__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            let tensor = quoted(name)
            guard !name.isEmpty else { throw fail("a tensor has an empty name") }
            guard let info = value as? [String: Any],
                let dtype = info["dtype"] as? String,
                let shape = info["shape"] as? [Int],
                let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("tensor \(tensor) lacks dtype, shape or data_offsets") }
            guard dtype == "F32" else { throw fail("tensor \(tensor) is \(quoted(dtype)); only F32 is supported") }
            guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else { throw fail("tensor \(tensor) has shape \(text(shape))") }
            guard let bytes = float32Bytes(shape), bytes <= data.count - dataStart else {
                throw fail("tensor \(tensor) of shape \(text(shape)) is larger than the file's \(data.count - dataStart) data bytes")
            }
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] - offsets[0] == bytes else {
                throw fail("tensor \(tensor) of shape \(text(shape)) has byte range \(offsets), not \(bytes) bytes")
            }
            entries.append((TensorSpec(name: name, shape: shape), offsets[0], offsets[1]))
        }
        // Two keys of the JSON object can be one name to Swift (canonically equivalent
        // Unicode, "\u00e9" and "e\u0301"): a layout cannot hold both, so refuse the file.
        var names = Set<String>()
        for entry in entries {
            guard names.insert(entry.spec.name).inserted else { throw fail("two tensors are named \(quoted(entry.spec.name))") }
        }
        entries.sort { $0.begin < $1.begin }
        var expected = 0
        for entry in entries {
            guard entry.begin == expected else {
                throw fail("tensor \(quoted(entry.spec.name)) starts at byte \(entry.begin), expected \(expected) (gap or overlap)")
            }
            expected = entry.end
            // Every range is checked against the file as it is added: no sum of them overflows.
            guard expected <= data.count - dataStart else {
                throw fail("tensors cover more than the file's \(data.count - dataStart) data bytes")
            }
        }
        guard expected == data.count - dataStart else {
            throw fail("tensors cover \(expected) data bytes but the file holds \(data.count - dataStart)")
        }
        return Header(metadata: metadata, layout: ParameterLayout(entries.map(\.spec)), dataStart: dataStart)
    }

    /// The tensors' values from `data`, as its header (`readHeader`'s for this same `data`)
    /// lays them out; allocates 4 bytes per value, as many as the file's data bytes.
    public static func weights(_ data: Data, header: Header) -> Weights {
        var values = [Float](repeating: 0, count: header.layout.count)
        values.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in
                dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[header.dataStart..<data.count]))
            }
        }
        // The format is little-endian; swap on a big-endian host.
        if UInt32(1).littleEndian != 1 {
            for i in values.indices { values[i] = Float(bitPattern: UInt32(littleEndian: values[i].bitPattern)) }
        }
        return Weights(layout: header.layout, values: values)
    }

    /// The bytes of a Float32 tensor of `shape`, or nil when they do not fit in an `Int`.
    static func float32Bytes(_ shape: [Int]) -> Int? {
        var bytes = 4
        for n in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: n)
            if overflow { return nil }
            bytes = product
        }
        return bytes
    }

    /// A name from a file, as an error quotes it: escaped, and cut at 64 characters.
    static func quoted(_ name: String) -> String {
        name.count > 64 ? String(name.prefix(64)).debugDescription + "…" : name.debugDescription
    }

    /// A shape from a file, as an error shows it: at most 8 dimensions.
    static func text(_ shape: [Int]) -> String {
        shape.count > 8 ? "\(Array(shape.prefix(8)))…" : "\(shape)"
    }
}

/// A `.safetensors` file could not be read; says which file and why.
public struct SafetensorsError: Error, CustomStringConvertible {
    public let source: String
    public let reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): not a usable safetensors file: \(reason)" }
}
