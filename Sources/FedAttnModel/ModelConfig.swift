public import FedAttnCore

/// The shape of the attention model of BENCHMARK.md. Everything needed to rebuild the model
/// from a saved file is in here, and travels in the file's metadata.
public struct ModelConfig: Sendable, Hashable {
    /// Embedding dimension d; a multiple of 8 (the kernels work in 8-float vectors).
    public var dim: Int
    /// The most clicked items a history holds.
    public var historyLength: Int
    /// Units in the ReLU layer; a multiple of 8.
    public var hidden: Int
    /// How item ids become embedding rows.
    public var items: ItemMapping
    /// How many recommendation strategies there are; ids are 0..<strategies.
    public var strategies: Int

    /// The reference model: d = 32, 20 history items, 64 hidden units, MovieLens' 1,682 items.
    public init(
        dim: Int = 32, historyLength: Int = 20, hidden: Int = 64,
        items: ItemMapping = .catalogue(items: 1682), strategies: Int = 1
    ) {
        self.dim = dim
        self.historyLength = historyLength
        self.hidden = hidden
        self.items = items
        self.strategies = strategies
    }

    // Upper bounds on every size, so that no configuration (a model file's metadata, a
    // coordinator's answer, a flag) can size a buffer past what a machine holds, or overflow
    // an `Int` on the way: each is far above what this project trains, and is checked
    // before anything is allocated.

    /// The largest embedding dimension d: 1,024, 32 times the reference model's 32 (the
    /// attention and hidden layers cost d² per example).
    public static let maxDim = 1_024
    /// The most units in the ReLU layer: 4,096, 64 times the reference model's 64.
    public static let maxHidden = 4_096
    /// The longest history: 10,000 items, 500 times the reference model's 20. Every worker
    /// holds scratch memory per history position, and every example reads them all.
    public static let maxHistoryLength = 10_000
    /// The most recommendation strategies: 10,000 (the built-in data has 3).
    public static let maxStrategies = 10_000
    /// The most items of a catalogue, or buckets of a hashed mapping: 100 million, 25 times
    /// the largest benchmarked (`hash:4000000`).
    public static let maxItems = 100_000_000
    /// The most parameters in all: 2,000,000,000, 8 GB of Float32 (training holds the model
    /// several times over: Adam's moments, an aggregate), 15 times the `hash:4000000`
    /// benchmark model's 128 million.
    public static let maxParameters = 2_000_000_000

    /// Checks the rules the kernels rely on and the bounds above; the error names the field
    /// as the metadata does (`dim`, `history_length`, `hidden`, `items`, `strategies`).
    public func validate() throws(ModelConfigError) {
        guard dim > 0, dim % 8 == 0, dim <= Self.maxDim else {
            throw .invalid("dim must be a positive multiple of 8 up to \(Self.maxDim), got \(dim)")
        }
        guard hidden > 0, hidden % 8 == 0, hidden <= Self.maxHidden else {
            throw .invalid("hidden must be a positive multiple of 8 up to \(Self.maxHidden), got \(hidden)")
        }
        guard historyLength >= 0, historyLength <= Self.maxHistoryLength else {
            throw .invalid("history_length must be in 0...\(Self.maxHistoryLength), got \(historyLength)")
        }
        guard strategies >= 1, strategies <= Self.maxStrategies else {
            throw .invalid("strategies must be in 1...\(Self.maxStrategies), got \(strategies)")
        }
        let itemCount: Int
        switch items {
        case .catalogue(let n), .hashed(let n): itemCount = n
        }
        guard itemCount >= 1, itemCount <= Self.maxItems else {
            throw .invalid("items must hold 1...\(Self.maxItems) items or buckets, got \(items)")
        }
        // With the bounds above, no product here overflows.
        let parameters = (items.rowCount + strategies) * dim + 2 * dim * dim + hidden * (4 * dim + 3) + 2
        guard parameters <= Self.maxParameters else {
            throw .invalid(
                "items \(items) at dim \(dim) make \(parameters) parameters, more than \(Self.maxParameters); choose fewer items or a smaller dim")
        }
    }

    /// The metadata written into a `.safetensors` file.
    public var metadata: [String: String] {
        [
            "format": "fedattention-attention-model",
            "format_version": "1",
            "dim": "\(dim)",
            "history_length": "\(historyLength)",
            "hidden": "\(hidden)",
            "items": items.description,
            "strategies": "\(strategies)",
        ]
    }

    /// Rebuilds a configuration from a file's metadata.
    public init(metadata: [String: String]) throws(ModelConfigError) {
        func int(_ key: String) throws(ModelConfigError) -> Int {
            guard let text = metadata[key], let value = Int(text) else { throw .invalid("metadata lacks an integer '\(key)'") }
            return value
        }
        guard metadata["format"] == "fedattention-attention-model" else {
            throw .invalid("metadata 'format' is \(metadata["format"].map { "'\($0)'" } ?? "missing"), not a FedAttention model")
        }
        guard let itemsText = metadata["items"], let items = ItemMapping(itemsText) else {
            throw .invalid("metadata 'items' must be catalogue:N or hash:B")
        }
        self.init(
            dim: try int("dim"), historyLength: try int("history_length"), hidden: try int("hidden"),
            items: items, strategies: try int("strategies"))
        try validate()
    }
}

/// A model configuration that the kernels cannot run.
public enum ModelConfigError: Error, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let why): "invalid model configuration: \(why)"
        }
    }
}
