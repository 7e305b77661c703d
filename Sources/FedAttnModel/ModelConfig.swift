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

    /// Checks the rules the kernels rely on.
    public func validate() throws(ModelConfigError) {
        guard dim > 0, dim % 8 == 0 else { throw .invalid("dim must be a positive multiple of 8, got \(dim)") }
        guard hidden > 0, hidden % 8 == 0 else { throw .invalid("hidden must be a positive multiple of 8, got \(hidden)") }
        guard historyLength >= 0 else { throw .invalid("history length must be non-negative, got \(historyLength)") }
        guard strategies >= 1 else { throw .invalid("there must be at least one strategy, got \(strategies)") }
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
