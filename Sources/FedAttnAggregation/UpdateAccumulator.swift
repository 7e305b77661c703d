public import FedAttnCore

/// The example-weighted sum of a round's updates, folded in as they arrive, so memory stays
/// the size of what the round's updates touched however many clients report and however
/// large the model: an embedding table's sums are kept only for the rows sent.
///
/// For tensors sent as rows (embedding tables) it also sums, per row, the weight of the
/// clients that sent that row, so a row can be averaged over the clients that trained it
/// (`rowWise`), rather than diluted by every client that never saw the item.
public struct UpdateAccumulator: Sendable {
    public let layout: ParameterLayout
    /// Per tensor, its sums: whole (a tensor first sent whole) or by row (a table first sent
    /// as rows). Sums of exampleCount * delta are kept in Float: over 200 updates their mean
    /// stays within 1e-6 of a Double sum's, relative to the mean's largest value (see
    /// FedAvgTests), far below the Float32 rounding of the model they are added to.
    private var sums: [TensorSums?]
    public private(set) var totalExamples = 0
    public private(set) var clients: [String] = []

    /// One tensor's running sums.
    enum TensorSums: Sendable {
        /// Every value, and (for a table also sent as rows) each row's summed weight.
        case whole(values: [Float], rowWeights: [Double]?)
        /// The rows sent, each with its sums and summed weight; rows in first-sent order.
        case rows(RowSums)
    }

    /// A table's sums by row: only the rows some client sent.
    struct RowSums: Sendable {
        let width: Int
        var slotOfRow: [Int32: Int] = [:]
        var rows: [Int32] = []
        var values: [Float] = []
        var weights: [Double] = []

        mutating func add(row: Int32, _ delta: ArraySlice<Float>, weight: Double) {
            let slot: Int
            if let known = slotOfRow[row] {
                slot = known
            } else {
                slot = rows.count
                slotOfRow[row] = slot
                rows.append(row)
                values.append(contentsOf: repeatElement(0, count: width))
                weights.append(0)
            }
            let floatWeight = Float(weight)
            var j = slot * width
            for value in delta {
                values[j] += floatWeight * value
                j += 1
            }
            weights[slot] += weight
        }
    }

    public init(layout: ParameterLayout) {
        self.layout = layout
        sums = Array(repeating: nil, count: layout.tensors.count)
    }

    /// Folds in one update. The caller has checked its layout.
    public mutating func add(_ update: ClientUpdate) {
        precondition(update.delta.layout == layout, "An update of another layout cannot be accumulated.")
        precondition(update.exampleCount > 0, "An update must carry at least one example.")
        let weight = Double(update.exampleCount)
        let floatWeight = Float(update.exampleCount)
        for (i, tensor) in update.delta.tensors.enumerated() {
            let spec = layout.tensors[i]
            let width = spec.shape.count == 2 ? spec.shape[1] : 0
            switch (sums[i], tensor.rows) {
            case (nil, .some), (.rows, _):
                guard case .rows(var table) = sums[i] ?? .rows(RowSums(width: width)) else { fatalError("unreachable") }
                sums[i] = nil  // in place: the only reference while folding
                if let rows = tensor.rows {
                    for (k, row) in rows.enumerated() { table.add(row: row, tensor.values[(k * width)..<((k + 1) * width)], weight: weight) }
                } else {
                    // A table sent whole into row sums: the rows it changed.
                    for row in 0..<spec.shape[0] {
                        let slice = tensor.values[(row * width)..<((row + 1) * width)]
                        if slice.contains(where: { $0 != 0 }) { table.add(row: Int32(row), slice, weight: weight) }
                    }
                }
                sums[i] = .rows(table)
            case (nil, nil), (.whole, _):
                guard
                    case .whole(var values, var rowWeights) = sums[i]
                        ?? .whole(values: [Float](repeating: 0, count: spec.elementCount), rowWeights: nil)
                else { fatalError("unreachable") }
                sums[i] = nil
                if let rows = tensor.rows {
                    var perRow = rowWeights ?? [Double](repeating: 0, count: spec.shape[0])
                    for (k, row) in rows.enumerated() {
                        let start = Int(row) * width
                        for j in 0..<width { values[start + j] += floatWeight * tensor.values[k * width + j] }
                        perRow[Int(row)] += weight
                    }
                    rowWeights = perRow
                } else {
                    for (j, value) in tensor.values.enumerated() { values[j] += floatWeight * value }
                }
                sums[i] = .whole(values: values, rowWeights: rowWeights)
            }
        }
        totalExamples += update.exampleCount
        clients.append(update.client)
    }

    /// Adds `scale` times the weighted mean delta to `weights` in place: sum / total
    /// examples; with `rowWise`, each row of a tensor sent as rows is divided by the weight
    /// of the clients that sent it instead. Costs the rows sent, not the table. Returns
    /// false (and changes nothing) when no update was folded in.
    public func addMean(to weights: inout Weights, scaledBy scale: Float = 1, rowWise: Bool) -> Bool {
        precondition(weights.layout == layout, "The mean is added to weights of its own layout.")
        guard totalExamples > 0 else { return false }
        let total = Double(totalExamples)
        weights.values.withUnsafeMutableBufferPointer { out in
            for (i, entry) in sums.enumerated() {
                let offset = layout.range(at: i).lowerBound
                switch entry {
                case nil: continue
                case .whole(let values, let rowWeights):
                    let width = layout.tensors[i].shape.count == 2 ? layout.tensors[i].shape[1] : 1
                    for (j, value) in values.enumerated() {
                        let divisor = rowWise ? rowWeights.map { $0[j / width] } ?? total : total
                        guard divisor > 0 else { continue }
                        out[offset + j] += scale * Float(Double(value) / divisor)
                    }
                case .rows(let table):
                    for (slot, row) in table.rows.enumerated() {
                        let divisor = rowWise ? table.weights[slot] : total
                        let start = offset + Int(row) * table.width
                        for j in 0..<table.width {
                            out[start + j] += scale * Float(Double(table.values[slot * table.width + j]) / divisor)
                        }
                    }
                }
            }
        }
        return true
    }

    /// The weighted mean delta as dense weights (see `addMean`): a model-sized buffer, for
    /// strategies that keep state across rounds.
    public func meanDelta(rowWise: Bool) -> Weights? {
        var mean = Weights(zerosLike: layout)
        return addMean(to: &mean, rowWise: rowWise) ? mean : nil
    }

    /// The rows of tensor `index` some update changed, ascending; nil for a tensor summed whole.
    public func rowsSent(tensor index: Int) -> [Int32]? {
        guard case .rows(let table) = sums[index] else { return nil }
        return table.rows.sorted()
    }
}
