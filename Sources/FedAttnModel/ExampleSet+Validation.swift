import FedAttnCore

extension ExampleSet {
    /// Why these examples cannot be run by a model of `config`, or nil when they can.
    /// The kernels are compiled without bounds checks, so every public entry point that
    /// hands examples to them checks this first (one pass, cheap next to training).
    public func problem(for config: ModelConfig) -> String? {
        let rows = Int32(config.items.rowCount)
        if let i = candidates.firstIndex(where: { $0 < 1 || $0 >= rows }) {
            return "example \(i): candidate row \(candidates[i]) is outside 1..<\(rows)"
        }
        if let i = strategies.firstIndex(where: { $0 < 0 || Int($0) >= config.strategies }) {
            return "example \(i): strategy \(strategies[i]) is outside 0..<\(config.strategies)"
        }
        if let i = historyStarts.indices.first(where: {
            historyStarts[$0] < 0 || historyStarts[$0] > historyEnds[$0] || Int(historyEnds[$0]) > historyItems.count
        }) {
            return "example \(i): history window \(historyStarts[i])..<\(historyEnds[i]) is outside the \(historyItems.count) clicks"
        }
        if let bad = historyItems.first(where: { $0 < 1 || $0 >= rows }) {
            return "a history holds row \(bad), outside 1..<\(rows)"
        }
        return nil
    }

    /// Stops with the reason when the examples do not fit the model (a programming error:
    /// the data pipeline only builds examples that fit).
    func requireFits(_ config: ModelConfig) {
        if let problem = problem(for: config) { preconditionFailure("Examples do not fit the model: \(problem)") }
    }
}
