public import FedAttnCore

/// Aggregation rules that bound what a few hostile clients can do to the global model, over
/// the round's individual updates:
/// - coordinate-wise median, and trimmed mean (Yin et al., "Byzantine-Robust Distributed
///   Learning: Towards Optimal Statistical Rates", ICML 2018);
/// - (multi-)Krum (Blanchard et al., "Machine Learning with Adversaries: Byzantine Tolerant
///   Gradient Descent", NeurIPS 2017): the updates with the smallest summed squared distance
///   to their n - f - 2 nearest neighbours, averaged;
/// - norm-bounded FedAvg (Sun et al., "Can You Really Backdoor Federated Learning?", 2019):
///   each update scaled to an L2 norm of at most a bound, then the weighted mean.
///
/// An embedding table's rows are aggregated over the clients that sent them (a client that
/// never saw an item has nothing to say about it; counting its zero would freeze every item
/// fewer than half the silos hold); every other tensor over all clients. The median, the
/// trimmed mean and Krum ignore the example counts (a client that inflates its count gains
/// nothing); the norm bound weighs the bounded updates by them, as FedAvg does. The step is
/// scaled by the server learning rate and rounded to 11 significant bits, like FedAvg's.
public struct RobustAggregation: Strategy {
    public enum Rule: Sendable, Equatable {
        case median
        /// Drops the ceil(`fraction` n) largest and smallest values of each coordinate.
        case trimmedMean(fraction: Double)
        /// Tolerates `byzantine` hostile clients; averages the `selected` best-scored updates (1 is
        /// Krum; 0 takes n - f, multi-Krum).
        case krum(byzantine: Int, selected: Int)
        /// Scales each update to an L2 norm of at most `bound`.
        case normBounded(bound: Double)
    }

    public let rule: Rule
    public var learningRate: Float

    public init(rule: Rule, learningRate: Float = 1) {
        self.rule = rule
        self.learningRate = learningRate
    }

    public var name: String {
        switch rule {
        case .median: "median"
        case .trimmedMean(let fraction): "trimmed-mean \(fraction)"
        case .krum(let f, let m): "krum f \(f) m \(m)"
        case .normBounded(let bound): "norm-bounded \(bound)"
        }
    }

    public var needsUpdates: Bool { true }

    /// The fewest updates the rule aggregates: 3 for the median and the trimmed mean (one
    /// value to outvote), f + 3 for Krum (its n - f - 2 neighbours), 1 for the norm bound.
    public var minimumUpdates: Int {
        switch rule {
        case .median, .trimmedMean: 3
        case .krum(let f, _): f + 3
        case .normBounded: 1
        }
    }

    public mutating func aggregate(_ round: UpdateAccumulator, into global: inout Weights) -> ModelStep? {
        precondition(round.keepsUpdates, "A robust rule reads the round's updates.")
        var updates = round.updates
        // Fewer updates than a rule needs to outvote one hostile update would make it a plain
        // mean (or the hostile update itself): nothing is published, and the round is retried.
        guard updates.count >= minimumUpdates else { return nil }
        switch rule {
        case .median, .trimmedMean: break
        case .krum(let f, let m): updates = Self.krum(updates, byzantine: f, selected: m)
        case .normBounded(let bound): updates = updates.map { Self.bounded($0, to: bound) }
        }
        var step = Self.combine(updates, layout: global.layout) { values, weights in
            switch rule {
            case .median: return Self.median(values)
            case .trimmedMean(let fraction): return Self.trimmedMean(values, fraction: fraction)
            case .krum: return Float(values.reduce(0.0) { $0 + Double($1) } / Double(values.count))
            case .normBounded:
                var sum = 0.0, total = 0.0
                for (v, w) in zip(values, weights) {
                    sum += Double(v) * w
                    total += w
                }
                return Float(sum / total)
            }
        }
        for i in step.tensors.indices {
            for j in step.tensors[i].values.indices {
                step.tensors[i].values[j] = UpdateAccumulator.roundedStep(learningRate * step.tensors[i].values[j])
            }
        }
        step.add(to: &global)
        return .added(step)
    }

    /// Combines the updates value by value with `rule` (a coordinate's values and their
    /// clients' example counts): a table row over the clients that sent it, other tensors
    /// over all clients (absent as zero).
    static func combine(_ updates: [ClientUpdate], layout: ParameterLayout, _ rule: ([Float], [Double]) -> Float) -> SparseWeights {
        var tensors: [SparseWeights.Tensor] = []
        for (i, spec) in layout.tensors.enumerated() {
            let width = spec.shape.count == 2 ? spec.shape[1] : spec.elementCount
            let isTable = spec.shape.count == 2 && updates.contains { $0.delta.tensors[i].rows != nil }
            // Per row: (update, offset of the row in its values) for the clients that hold it.
            var holders: [Int32: [(update: Int, offset: Int)]] = [:]
            for (u, update) in updates.enumerated() {
                let tensor = update.delta.tensors[i]
                if let rows = tensor.rows {
                    for (k, row) in rows.enumerated() { holders[row, default: []].append((u, k * width)) }
                } else if isTable {
                    // A table sent whole: its rows that moved.
                    for row in 0..<spec.shape[0] where tensor.values[(row * width)..<((row + 1) * width)].contains(where: { $0 != 0 }) {
                        holders[Int32(row), default: []].append((u, row * width))
                    }
                }
            }
            if isTable {
                let rows = holders.keys.sorted()
                var values: [Float] = []
                values.reserveCapacity(rows.count * width)
                for row in rows {
                    let held = holders[row]!
                    let weights = held.map { Double(updates[$0.update].exampleCount) }
                    for j in 0..<width { values.append(rule(held.map { updates[$0.update].delta.tensors[i].values[$0.offset + j] }, weights)) }
                }
                tensors.append(.init(rows: rows, values: values))
            } else {
                let weights = updates.map { Double($0.exampleCount) }
                let values = (0..<spec.elementCount).map { j in rule(updates.map { $0.delta.tensors[i].values[j] }, weights) }
                tensors.append(.init(rows: nil, values: values))
            }
        }
        return SparseWeights(layout: layout, tensors: tensors)
    }

    /// The middle value (the mean of the two middle ones for an even count).
    public static func median(_ values: [Float]) -> Float {
        let sorted = values.sorted()
        let n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    /// The mean of what is left after dropping ceil(fraction * n) values from each end (the
    /// median when nothing would be left). Rounded up, so that a row only a few clients sent
    /// still loses its extremes.
    public static func trimmedMean(_ values: [Float], fraction: Double) -> Float {
        let trim = Int((fraction * Double(values.count)).rounded(.up))
        guard values.count - 2 * trim > 0 else { return median(values) }
        let kept = values.sorted()[trim..<(values.count - trim)]
        return Float(kept.reduce(0.0) { $0 + Double($1) } / Double(kept.count))
    }

    /// `update` scaled to an L2 norm of at most `bound`.
    public static func bounded(_ update: ClientUpdate, to bound: Double) -> ClientUpdate {
        let norm = update.delta.l2Norm
        guard norm > bound else { return update }
        var delta = update.delta
        let scale = Float(bound / norm)
        for i in delta.tensors.indices { delta.tensors[i].values = delta.tensors[i].values.map { $0 * scale } }
        return ClientUpdate(client: update.client, exampleCount: update.exampleCount, delta: delta)
    }

    /// The `selected` updates with the lowest Krum scores (at least one; all when there are
    /// too few to score: fewer than f + 3).
    static func krum(_ updates: [ClientUpdate], byzantine f: Int, selected m: Int) -> [ClientUpdate] {
        let n = updates.count
        let neighbours = n - f - 2
        guard neighbours >= 1 else { return updates }
        // Squared distances from norms and dot products over the rows both sent: the
        // updates stay sparse (a 4M-row table is never densified).
        let norms = updates.map { update in
            let norm = update.delta.l2Norm
            return norm * norm
        }
        let rowIndex = updates.map { u in
            u.delta.tensors.map { t in t.rows.map { rows in Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($1, $0) }) } }
        }
        func dot(_ a: Int, _ b: Int) -> Double {
            var sum = 0.0
            for (i, x) in updates[a].delta.tensors.enumerated() {
                let y = updates[b].delta.tensors[i]
                let width = updates[a].delta.layout.tensors[i].shape.count == 2 ? updates[a].delta.layout.tensors[i].shape[1] : 1
                switch (x.rows, y.rows) {
                case (nil, nil):
                    for k in x.values.indices { sum += Double(x.values[k]) * Double(y.values[k]) }
                case (let rows?, nil):
                    for (r, row) in rows.enumerated() {
                        for j in 0..<width { sum += Double(x.values[r * width + j]) * Double(y.values[Int(row) * width + j]) }
                    }
                case (nil, let rows?):
                    for (r, row) in rows.enumerated() {
                        for j in 0..<width { sum += Double(y.values[r * width + j]) * Double(x.values[Int(row) * width + j]) }
                    }
                case (let rows?, _?):
                    let other = rowIndex[b][i]!
                    for (r, row) in rows.enumerated() {
                        guard let q = other[row] else { continue }
                        for j in 0..<width { sum += Double(x.values[r * width + j]) * Double(y.values[q * width + j]) }
                    }
                }
            }
            return sum
        }
        var distances = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for a in 0..<n {
            for b in (a + 1)..<n {
                let d = max(0, norms[a] + norms[b] - 2 * dot(a, b))
                (distances[a][b], distances[b][a]) = (d, d)
            }
        }
        let scores = (0..<n).map { a in distances[a].enumerated().filter { $0.offset != a }.map(\.element).sorted().prefix(neighbours).reduce(0, +) }
        let order = (0..<n).sorted { (scores[$0], $0) < (scores[$1], $1) }
        return order.prefix(max(1, min(m == 0 ? n - f : m, n))).map { updates[$0] }
    }
}
