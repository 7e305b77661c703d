public import FedAttnCore

/// A silo's sparse update as the two vectors secure aggregation sums, and the round's mean
/// back from their sums (the design of docs/secure-aggregation.md):
/// (a) `indicators`: the rows the update touches (`RowIndicators`), whose secure sum gives
///     each row's count of silos and so the union, never whose rows they were;
/// (b) `values`: over the union (ascending), the silo's row values (zeros for rows it did not
///     touch), then every other tensor whole, times its weight (its examples over the round's
///     total, so that the sum is FedAvg's weighted mean), all quantised into the ring.
/// `mean` turns the two sums back into the round's step: each union row averaged over its
/// count of silos (equal weights: a weighted denominator would let the coordinator solve for
/// which silos touched a row from their declared sizes), the dense tensors as summed.
public struct SecureUpdateCodec: Sendable {
    public let layout: ParameterLayout
    public let quantizer: RingQuantizer

    /// - Precondition: the first tensor is the item table, [rows, width].
    public init(layout: ParameterLayout, quantizer: RingQuantizer) {
        precondition(layout.tensors.first?.shape.count == 2, "The item table comes first, [rows, width].")
        self.layout = layout
        self.quantizer = quantizer
    }

    var tableRows: Int { layout.tensors[0].shape[0] }
    var width: Int { layout.tensors[0].shape[1] }
    var denseCount: Int { layout.count - tableRows * width }

    /// (a) The rows `update` touches, packed for `clients` silos at most.
    public func indicators(_ update: SparseWeights, clients: Int) -> [UInt32] {
        RowIndicators(rows: tableRows, bits: RowIndicators.bits(forClients: clients)).encode(touchedRows(update))
    }

    /// The union of rows from the secure sum of indicators, ascending, and each one's count.
    public func union(fromIndicatorSum sum: [UInt32], clients: Int) -> (rows: [Int32], counts: [Int]) {
        let counts = RowIndicators(rows: tableRows, bits: RowIndicators.bits(forClients: clients)).counts(sum)
        let rows = counts.indices.filter { counts[$0] > 0 }
        return (rows.map { Int32($0) }, rows.map { counts[$0] })
    }

    /// Ring elements of the values vector for a union of `unionCount` rows.
    public func valuesLength(unionCount: Int) -> Int { unionCount * width + denseCount }

    /// (b) The values vector: the update's rows over `union` times `rowWeight`, then the dense
    /// tensors times `denseWeight`, clipped and stochastically rounded (`RingQuantizer`).
    /// FedAvg's example-weighted mean gives both weights n_i / N; a row-wise mean over the
    /// rows' counts leaves rows unweighted (`rowWeight` 1).
    public func values(
        _ update: SparseWeights, union: [Int32], rowWeight: Float = 1, denseWeight: Float, using generator: inout some RandomNumberGenerator
    ) -> [UInt32] {
        var plain = [Float](repeating: 0, count: valuesLength(unionCount: union.count))
        let table = update.tensors[0]
        let position = Dictionary(uniqueKeysWithValues: union.enumerated().map { ($1, $0) })
        if let rows = table.rows {
            for (k, row) in rows.enumerated() {
                guard let at = position[row] else { continue }  // a row outside the union: not announced in (a)
                for j in 0..<width { plain[at * width + j] = rowWeight * table.values[k * width + j] }
            }
        } else {
            for (at, row) in union.enumerated() {
                for j in 0..<width { plain[at * width + j] = rowWeight * table.values[Int(row) * width + j] }
            }
        }
        var next = union.count * width
        for tensor in update.tensors.dropFirst() {
            for value in tensor.values {
                plain[next] = denseWeight * value
                next += 1
            }
        }
        return quantizer.quantize(plain, using: &generator)
    }

    /// The round's step from the sum of `clients` values vectors: union rows over their
    /// `counts` (a row-wise mean; nil: rows weighted like the dense tensors, scaled by
    /// `denseScale`), dense tensors as summed, scaled by `denseScale` (the survivors' weights'
    /// sum falls short of 1 when silos dropped: 1 / that sum).
    public func mean(_ sum: [UInt32], union: [Int32], counts: [Int]?, clients: Int, denseScale: Float = 1) -> SparseWeights {
        let values = quantizer.dequantizeSum(sum, clients: clients)
        var rowValues: [Float] = []
        rowValues.reserveCapacity(union.count * width)
        for at in union.indices {
            let scale = counts.map { 1 / Float(max(1, $0[at])) } ?? denseScale
            for j in 0..<width { rowValues.append(values[at * width + j] * scale) }
        }
        var tensors = [SparseWeights.Tensor(rows: union, values: rowValues)]
        var next = union.count * width
        for spec in layout.tensors.dropFirst() {
            tensors.append(SparseWeights.Tensor(rows: nil, values: values[next..<(next + spec.elementCount)].map { $0 * denseScale }))
            next += spec.elementCount
        }
        return SparseWeights(layout: layout, tensors: tensors)
    }

    private func touchedRows(_ update: SparseWeights) -> [Int32] {
        let table = update.tensors[0]
        if let rows = table.rows { return rows }
        return (0..<tableRows).filter { row in (0..<width).contains { table.values[row * width + $0] != 0 } }.map { Int32($0) }
    }
}
