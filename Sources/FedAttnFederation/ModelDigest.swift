import Crypto
public import FedAttnCore
import FedAttnModel
import Foundation

/// A model version's name: a SHA-256 over the model's values that can be brought up to date
/// by rehashing only what changed, so that a client applying a delta download proves its
/// model equals the coordinator's bit for bit at the cost of the rows that changed.
///
/// The item table is hashed in blocks of `blockRows` rows (the last may be shorter), each
/// block's little-endian float32 values on their own; every other tensor's values together,
/// in order, make one more hash. The version is the lowercase hex SHA-256 of "FATD1", the
/// block count (u32, little-endian), the block hashes in order and the other tensors' hash.
public struct ModelDigest: Sendable, Equatable {
    /// Rows per hashed block: small, so that a round's scattered rows rehash little (16
    /// rows are 2 KiB at d = 32), and the list of block hashes is 2 bytes a row.
    public static let blockRows = 16

    private var blocks: [UInt8]
    private var dense: [UInt8]
    private let rows: Int, width: Int

    /// Hashes the whole model.
    public init(_ weights: Weights) {
        let table = weights.layout.tensors[0]
        precondition(table.name == AttentionModel.TensorName.items && table.shape.count == 2, "The item table comes first.")
        (rows, width) = (table.shape[0], table.shape[1])
        let count = (rows + Self.blockRows - 1) / Self.blockRows
        blocks = [UInt8](repeating: 0, count: count * 32)
        dense = []
        for block in 0..<count { rehash(block: block, in: weights) }
        rehashDense(weights)
    }

    /// Brings the digest up to date after `changedRows` of the item table (in any order,
    /// repeats allowed) and possibly any other tensor changed in `weights`.
    public mutating func update(_ weights: Weights, changedRows: some Sequence<Int32>) {
        var done = Set<Int>()
        for row in changedRows {
            let block = Int(row) / Self.blockRows
            if done.insert(block).inserted { rehash(block: block, in: weights) }
        }
        rehashDense(weights)
    }

    /// The version name.
    public var version: String {
        var hash = SHA256()
        hash.update(data: Array("FATD1".utf8))
        withUnsafeBytes(of: UInt32(blocks.count / 32).littleEndian) { hash.update(bufferPointer: $0) }
        hash.update(data: blocks)
        hash.update(data: dense)
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private mutating func rehash(block: Int, in weights: Weights) {
        let start = block * Self.blockRows * width, end = min(rows, (block + 1) * Self.blockRows) * width
        let digest = Self.hash(weights.values[start..<end])
        blocks.replaceSubrange((block * 32)..<((block + 1) * 32), with: digest)
    }

    private mutating func rehashDense(_ weights: Weights) {
        dense = Self.hash(weights.values[(rows * width)...])
    }

    /// SHA-256 of float32 values as little-endian bytes.
    private static func hash(_ values: ArraySlice<Float>) -> [UInt8] {
        var hash = SHA256()
        values.withUnsafeBufferPointer { buffer in
            #if _endian(little)
                hash.update(bufferPointer: UnsafeRawBufferPointer(buffer))
            #else
                for v in buffer { withUnsafeBytes(of: v.bitPattern.littleEndian) { hash.update(bufferPointer: $0) } }
            #endif
        }
        return Array(hash.finalize())
    }
}
