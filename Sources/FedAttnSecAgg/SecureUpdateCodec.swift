public import FedAttnCore

/// A silo's sparse update as the two vectors secure aggregation sums, and the round's mean
/// back from their sums:
/// (a) `indicators`: the rows the update touches that are not yet `known` (no silo trained
///     them in an earlier round), as `RowIndicators`; their secure sum is the rows new this
///     round, never whose. The rows known so far only grow, so a silo dropping out of a
///     round reveals none of its rows.
/// (b) `values`: over the rows known (ascending, new ones included), the silo's row values
///     (zeros where it did not touch), then every other tensor whole, all times its weight
///     (its examples over the round's total: the sum is FedAvg's weighted mean), quantised
///     into the ring.
/// `mean` turns the values' sum back into the round's step.
public struct SecureUpdateCodec: Sendable {
    public let layout: ParameterLayout
    public let quantizer: RingQuantizer

    /// - Precondition: the first tensor is the item table, [rows, width].
    public init(layout: ParameterLayout, quantizer: RingQuantizer) {
        precondition(layout.tensors.first?.shape.count == 2, "The item table comes first, [rows, width].")
        self.layout = layout
        self.quantizer = quantizer
    }

    public var tableRows: Int { layout.tensors[0].shape[0] }
    var width: Int { layout.tensors[0].shape[1] }
    var denseCount: Int { layout.count - tableRows * width }

    /// (a) The rows `update` touches outside `known`, as random non-zero ring elements.
    public func indicators(_ update: SparseWeights, known: RowSet, using generator: inout some RandomNumberGenerator) -> [UInt32] {
        RowIndicators(rows: tableRows).encode(touchedRows(update).filter { !known.contains($0) }, using: &generator)
    }

    /// The rows new this round, from the secure sum of indicators (`tableRows` elements, summed
    /// in the ring of `bits` bits: 16, or 32 when sum 0 carried counts), ascending.
    public func newRows(fromIndicatorSum sum: [UInt32], bits: Int = RowIndicators.bits) -> [Int32] {
        RowIndicators(rows: tableRows).touched(sum, bits: bits)
    }

    /// Ring elements of the values vector over `rows` rows.
    public func valuesLength(rows: Int) -> Int { rows * width + denseCount }

    /// (b) The values vector: the update's rows over `rows` (ascending, each < the table's
    /// rows), then the dense tensors, all times `weight`, clipped and stochastically rounded.
    /// A row the update touches outside `rows` is left out.
    public func values(_ update: SparseWeights, rows: [Int32], weight: Float, using generator: inout some RandomNumberGenerator) -> [UInt32] {
        var plain = [Float](repeating: 0, count: valuesLength(rows: rows.count))
        let table = update.tensors[0]
        if let sent = table.rows {
            // Both ascending: one merge pass.
            var at = 0
            for (k, row) in sent.enumerated() {
                while at < rows.count && rows[at] < row { at += 1 }
                guard at < rows.count, rows[at] == row else { continue }
                for j in 0..<width { plain[at * width + j] = weight * table.values[k * width + j] }
            }
        } else {
            for (at, row) in rows.enumerated() { for j in 0..<width { plain[at * width + j] = weight * table.values[Int(row) * width + j] } }
        }
        var next = rows.count * width
        for tensor in update.tensors.dropFirst() {
            for value in tensor.values {
                plain[next] = weight * value
                next += 1
            }
        }
        return quantizer.quantize(plain, using: &generator)
    }

    /// The round's step from the sum of `clients` values vectors over `rows`, each value
    /// times `scale` (the summed silos' weights fall short of 1 when some dropped: 1 / that sum).
    public func mean(_ sum: [UInt32], rows: [Int32], clients: Int, scale: Float = 1) -> SparseWeights {
        let values = quantizer.dequantizeSum(sum, clients: clients)
        var tensors = [SparseWeights.Tensor(rows: rows, values: values[0..<(rows.count * width)].map { $0 * scale })]
        var next = rows.count * width
        for spec in layout.tensors.dropFirst() {
            tensors.append(SparseWeights.Tensor(rows: nil, values: values[next..<(next + spec.elementCount)].map { $0 * scale }))
            next += spec.elementCount
        }
        return SparseWeights(layout: layout, tensors: tensors)
    }

    /// The rows of the item table `update` changes: those it sends, or (sent whole) those with
    /// a non-zero value.
    func touchedRows(_ update: SparseWeights) -> [Int32] {
        let table = update.tensors[0]
        if let rows = table.rows { return rows }
        return (0..<tableRows).filter { row in (0..<width).contains { table.values[row * width + $0] != 0 } }.map { Int32($0) }
    }
}
