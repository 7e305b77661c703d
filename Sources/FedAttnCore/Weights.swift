/// A set of named Float32 tensors stored in one contiguous buffer.
///
/// This is what a model's parameters, its gradients, an Adam moment and a federated delta
/// all are: the same layout with different numbers in it.
public struct Weights: Sendable, Equatable {
    /// The names, shapes and offsets of the tensors in `values`.
    public let layout: ParameterLayout
    /// All scalars, tensor after tensor, each row-major.
    public var values: [Float]

    /// Zeros in the given layout.
    public init(zerosLike layout: ParameterLayout) {
        self.layout = layout
        self.values = [Float](repeating: 0, count: layout.count)
    }

    public init(layout: ParameterLayout, values: [Float]) {
        precondition(values.count == layout.count, "Expected \(layout.count) values for this layout, got \(values.count).")
        self.layout = layout
        self.values = values
    }

    /// A copy of the tensor called `name`.
    public func tensor(_ name: String) -> [Float]? {
        layout.range(of: name).map { Array(values[$0]) }
    }

    /// `self += alpha * other`, elementwise.
    public mutating func add(_ other: Weights, scaledBy alpha: Float = 1) {
        precondition(other.layout == layout, "Cannot add weights of a different layout.")
        let n = values.count
        values.withUnsafeMutableBufferPointer { dst in
            other.values.withUnsafeBufferPointer { src in
                for i in 0..<n { dst[i] += alpha * src[i] }
            }
        }
    }

    /// `self *= alpha`, elementwise.
    public mutating func scale(by alpha: Float) {
        let n = values.count
        values.withUnsafeMutableBufferPointer { v in
            for i in 0..<n { v[i] *= alpha }
        }
    }

    /// `self - other`: the delta a client would send.
    public func subtracting(_ other: Weights) -> Weights {
        var result = self
        result.add(other, scaledBy: -1)
        return result
    }

    /// The Euclidean norm of all values, accumulated in Float64.
    public var l2Norm: Double {
        var sum = 0.0
        for v in values { sum += Double(v) * Double(v) }
        return sum.squareRoot()
    }
}
