public import FedAttnCore

/// What a round changed in the model, from a snapshot of what it could change (the table
/// rows its updates sent, and the dense tensors) taken before the model is updated in place:
/// the rows that changed and, as float32 bit patterns XOR their old ones, what a client
/// holding the version before needs to reach the new one exactly.
struct ModelChange {
    /// Changed item-table rows, ascending.
    let rows: [Int32]
    /// `rows.count` rows of new XOR old bits, then every dense tensor's, as Float bit patterns.
    private let tableBits: [Float]
    private let denseBits: [Float]

    /// The rows that may change and the dense tensors, as they are now.
    struct Snapshot {
        let rows: [Int32]
        let width: Int
        let tableValues: [Float]
        let denseValues: [Float]

        /// What changed between the snapshot and `weights`.
        func change(to weights: Weights) -> ModelChange {
            var changed: [Int32] = [], tableBits: [Float] = []
            for (k, row) in rows.enumerated() {
                let start = Int(row) * width
                let xor = (0..<width).map { weights.values[start + $0].bitPattern ^ tableValues[k * width + $0].bitPattern }
                guard xor.contains(where: { $0 != 0 }) else { continue }
                changed.append(row)
                tableBits += xor.map { Float(bitPattern: $0) }
            }
            let denseStart = weights.values.count - denseValues.count
            let denseBits = denseValues.indices.map { Float(bitPattern: weights.values[denseStart + $0].bitPattern ^ denseValues[$0].bitPattern) }
            return ModelChange(rows: changed, tableBits: tableBits, denseBits: denseBits)
        }
    }

    /// Snapshots `rows` (ascending) of the item table and every dense tensor of `weights`.
    static func snapshot(_ weights: Weights, rows: [Int32]) -> Snapshot {
        let width = weights.layout.tensors[0].shape[1], tableCount = weights.layout.tensors[0].elementCount
        var tableValues: [Float] = []
        tableValues.reserveCapacity(rows.count * width)
        for row in rows { tableValues += weights.values[(Int(row) * width)..<((Int(row) + 1) * width)] }
        return Snapshot(rows: rows, width: width, tableValues: tableValues, denseValues: Array(weights.values[tableCount...]))
    }

    /// The change as a payload's tensors: the item table as the changed rows, every other
    /// tensor whole (float32XOR values).
    func xorWeights(layout: ParameterLayout) -> SparseWeights {
        var tensors = [SparseWeights.Tensor(rows: rows, values: tableBits)]
        var offset = 0
        for i in 1..<layout.tensors.count {
            let count = layout.tensors[i].elementCount
            tensors.append(SparseWeights.Tensor(rows: nil, values: Array(denseBits[offset..<(offset + count)])))
            offset += count
        }
        return SparseWeights(layout: layout, tensors: tensors)
    }
}
