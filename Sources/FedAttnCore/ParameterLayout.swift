/// The name and shape of one parameter tensor.
public struct TensorSpec: Sendable, Hashable, Codable {
    /// A stable name, e.g. `attention.query`; the unit the federation sends and stores.
    public let name: String
    /// Row-major dimensions.
    public let shape: [Int]

    public init(name: String, shape: [Int]) {
        precondition(!name.isEmpty, "A tensor needs a name.")
        precondition(shape.allSatisfy { $0 > 0 }, "Tensor '\(name)' must have positive dimensions, got \(shape).")
        self.name = name
        self.shape = shape
    }

    /// The number of scalar elements.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// Named tensors laid end to end in one flat buffer (llm.c style), so that averaging,
/// deltas and norms are single loops over `[Float]`.
public struct ParameterLayout: Sendable, Hashable {
    /// The tensors in storage order.
    public let tensors: [TensorSpec]
    /// `offsets[i]` is where `tensors[i]` starts in the flat buffer.
    public let offsets: [Int]
    /// The total number of scalars.
    public let count: Int

    public init(_ tensors: [TensorSpec]) {
        precondition(Set(tensors.map(\.name)).count == tensors.count, "Tensor names must be unique.")
        var offsets: [Int] = []
        var next = 0
        for tensor in tensors {
            offsets.append(next)
            next += tensor.elementCount
        }
        self.tensors = tensors
        self.offsets = offsets
        self.count = next
    }

    /// The index of the tensor called `name`, if there is one.
    public func index(of name: String) -> Int? {
        tensors.firstIndex { $0.name == name }
    }

    /// Where the tensor called `name` lives in the flat buffer.
    public func range(of name: String) -> Range<Int>? {
        index(of: name).map { range(at: $0) }
    }

    /// Where the `i`-th tensor lives in the flat buffer.
    public func range(at i: Int) -> Range<Int> {
        offsets[i]..<(offsets[i] + tensors[i].elementCount)
    }
}
