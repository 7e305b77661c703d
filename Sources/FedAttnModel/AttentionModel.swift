public import FedAttnCore

/// The attention model of BENCHMARK.md: its configuration and its parameters as named tensors.
public struct AttentionModel: Sendable, Equatable {
    /// The tensor names, which are also the names in a saved file and on the wire.
    public enum TensorName {
        public static let items = "item_embedding"  // [rows, d]; row 0 is padding
        public static let strategies = "strategy_embedding"  // [strategies, d]
        public static let query = "attention.query"  // W_q [d, d]: q = W_q e_c
        public static let key = "attention.key"  // W_k [d, d]: k_l = W_k e_l
        public static let hiddenWeight = "hidden.weight"  // W_1 [H, 4d]
        public static let hiddenBias = "hidden.bias"  // b_1 [H]
        public static let outputWeight = "output.weight"  // w_2 [H]
        public static let outputBias = "output.bias"  // b_2 [1]
        public static let interactionWeight = "interaction.weight"  // w_i [H]
        public static let interactionBias = "interaction.bias"  // b_i [1]
    }

    public let config: ModelConfig
    public var parameters: Weights

    /// The layout every model of this configuration has.
    public static func layout(for config: ModelConfig) -> ParameterLayout {
        let d = config.dim
        return ParameterLayout([
            TensorSpec(name: TensorName.items, shape: [config.items.rowCount, d]),
            TensorSpec(name: TensorName.strategies, shape: [config.strategies, d]),
            TensorSpec(name: TensorName.query, shape: [d, d]),
            TensorSpec(name: TensorName.key, shape: [d, d]),
            TensorSpec(name: TensorName.hiddenWeight, shape: [config.hidden, 4 * d]),
            TensorSpec(name: TensorName.hiddenBias, shape: [config.hidden]),
            TensorSpec(name: TensorName.outputWeight, shape: [config.hidden]),
            TensorSpec(name: TensorName.outputBias, shape: [1]),
            TensorSpec(name: TensorName.interactionWeight, shape: [config.hidden]),
            TensorSpec(name: TensorName.interactionBias, shape: [1]),
        ])
    }

    /// A freshly initialised model, initialised as Keras does by default: embeddings
    /// uniform in [-0.05, 0.05], weight matrices Glorot-uniform, biases zero. The padding
    /// row stays zero. The interaction head starts at zero, so that until it is trained the
    /// ranking score orders items as the click probability does.
    public init(config: ModelConfig, seed: UInt64) throws(ModelConfigError) {
        try config.validate()
        self.config = config
        let layout = Self.layout(for: config)
        // Huge pages asked for before the first write: rows read at random then cost far
        // fewer TLB misses (see adviseHugePages).
        var values = [Float](unsafeUninitializedCapacity: layout.count) { buffer, initialized in
            adviseHugePages(buffer.baseAddress!, bytes: buffer.count * 4)
            buffer.initialize(repeating: 0)
            initialized = buffer.count
        }
        var rng = SeededGenerator(seed: seed)
        func fill(_ name: String, limit: Double, skipping skipped: Range<Int> = 0..<0) {
            for i in layout.range(of: name)! where !skipped.contains(i) {
                values[i] = Float((2 * rng.nextUnit() - 1) * limit)
            }
        }
        func glorot(_ fanIn: Int, _ fanOut: Int) -> Double { (6.0 / Double(fanIn + fanOut)).squareRoot() }
        let itemsStart = layout.range(of: TensorName.items)!.lowerBound
        fill(TensorName.items, limit: 0.05, skipping: itemsStart..<(itemsStart + config.dim))
        fill(TensorName.strategies, limit: 0.05)
        fill(TensorName.query, limit: glorot(config.dim, config.dim))
        fill(TensorName.key, limit: glorot(config.dim, config.dim))
        fill(TensorName.hiddenWeight, limit: glorot(4 * config.dim, config.hidden))
        fill(TensorName.outputWeight, limit: glorot(config.hidden, 1))
        self.parameters = Weights(layout: layout, values: values)
    }

    /// A model from existing parameters, which must have exactly this configuration's layout.
    public init(config: ModelConfig, parameters: Weights) throws(ModelConfigError) {
        try config.validate()
        let expected = Self.layout(for: config)
        guard parameters.layout == expected else {
            let want = expected.tensors.map { "\($0.name)\($0.shape)" }.joined(separator: ", ")
            let got = parameters.layout.tensors.map { "\($0.name)\($0.shape)" }.joined(separator: ", ")
            throw .invalid("parameters do not match the configuration: expected [\(want)], got [\(got)]")
        }
        self.config = config
        self.parameters = parameters
    }

    /// The number of scalar parameters.
    public var parameterCount: Int { parameters.values.count }
}

/// Where each tensor starts in the flat buffer, resolved once so the kernels do no lookups.
struct TensorOffsets {
    let items, strategies, query, key, hiddenWeight, hiddenBias, outputWeight, outputBias, interactionWeight, interactionBias: Int

    init(_ layout: ParameterLayout) {
        func at(_ name: String) -> Int { layout.range(of: name)!.lowerBound }
        typealias N = AttentionModel.TensorName
        items = at(N.items)
        strategies = at(N.strategies)
        query = at(N.query)
        key = at(N.key)
        hiddenWeight = at(N.hiddenWeight)
        hiddenBias = at(N.hiddenBias)
        outputWeight = at(N.outputWeight)
        outputBias = at(N.outputBias)
        interactionWeight = at(N.interactionWeight)
        interactionBias = at(N.interactionBias)
    }
}
