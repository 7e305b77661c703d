/// Weights in which some tensors are given only by the rows that are not all zero: how an
/// embedding table's delta travels, since a silo changes only the rows of items it saw.
public struct SparseWeights: Sendable, Equatable {
    /// One tensor: all of it, or some of its rows (the first dimension).
    public struct Tensor: Sendable, Equatable {
        /// Row indices present, ascending; nil when the tensor is dense.
        public var rows: [Int32]?
        /// The values: the whole tensor, or `rows.count` rows end to end.
        public var values: [Float]

        public init(rows: [Int32]?, values: [Float]) {
            self.rows = rows
            self.values = values
        }
    }

    public let layout: ParameterLayout
    /// Indexed like `layout.tensors`.
    public var tensors: [Tensor]

    public init(layout: ParameterLayout, tensors: [Tensor]) {
        precondition(tensors.count == layout.tensors.count, "Need one entry per tensor of the layout.")
        self.layout = layout
        self.tensors = tensors
    }

    /// `dense` with the named tensors reduced to their non-zero rows.
    public init(_ dense: Weights, sparseTensors: Set<String>) {
        layout = dense.layout
        tensors = dense.layout.tensors.enumerated().map { i, spec in
            let range = dense.layout.range(at: i)
            guard sparseTensors.contains(spec.name), spec.shape.count == 2 else {
                return Tensor(rows: nil, values: Array(dense.values[range]))
            }
            let width = spec.shape[1]
            var rows: [Int32] = []
            var values: [Float] = []
            for row in 0..<spec.shape[0] {
                let start = range.lowerBound + row * width
                let slice = dense.values[start..<(start + width)]
                if slice.contains(where: { $0 != 0 }) {
                    rows.append(Int32(row))
                    values.append(contentsOf: slice)
                }
            }
            return Tensor(rows: rows, values: values)
        }
    }

    /// The dense weights, absent rows being zero.
    public func densified() -> Weights {
        var dense = Weights(zerosLike: layout)
        overwrite(&dense)
        return dense
    }

    /// Adds these values to `weights` in place, one Float addition per value (absent rows
    /// add nothing): how a step is applied, identically wherever it is applied.
    public func add(to weights: inout Weights) {
        apply(to: &weights) { $0 += $1 }
    }

    /// Writes these values over `weights`' (the rows listed, the dense tensors whole; rows
    /// not listed keep theirs): how a catch-up download brings a held model up to date.
    public func overwrite(_ weights: inout Weights) {
        apply(to: &weights) { $0 = $1 }
    }

    /// The Euclidean norm of all values carried, accumulated in Float64 (absent rows are zero).
    public var l2Norm: Double {
        tensors.reduce(0.0) { sum, tensor in tensor.values.reduce(sum) { $0 + Double($1) * Double($1) } }.squareRoot()
    }

    /// `combine(&weight, value)` for every value carried, at its place in `weights`.
    @inline(__always)
    private func apply(to weights: inout Weights, _ combine: (inout Float, Float) -> Void) {
        precondition(weights.layout == layout, "Values apply to weights of their own layout.")
        weights.values.withUnsafeMutableBufferPointer { out in
            for (i, tensor) in tensors.enumerated() {
                let offset = layout.range(at: i).lowerBound
                if let rows = tensor.rows {
                    let width = layout.tensors[i].shape[1]
                    for (k, row) in rows.enumerated() {
                        let start = offset + Int(row) * width
                        for j in 0..<width { combine(&out[start + j], tensor.values[k * width + j]) }
                    }
                } else {
                    for (j, value) in tensor.values.enumerated() { combine(&out[offset + j], value) }
                }
            }
        }
    }

    /// Scalars carried (the size of what travels, before encoding).
    public var scalarCount: Int { tensors.reduce(0) { $0 + $1.values.count } }
}
