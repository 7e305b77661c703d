public import FedAttnCore

/// Adaptive server optimisers (Reddi et al., "Adaptive Federated Optimization", ICLR 2021,
/// Algorithm 2): the round's weighted mean delta is a pseudo-gradient, and the server takes
/// an Adam, Yogi or Adagrad step along it:
///
///     m = beta1 m + (1 - beta1) d
///     v = beta2 v + (1 - beta2) d^2                      (FedAdam)
///     v = v - (1 - beta2) d^2 sign(v - d^2)               (FedYogi)
///     v = v + d^2                                         (FedAdagrad)
///     x = x + eta m / (sqrt(v) + tau)
///
/// with no bias correction, as in the paper; m and v start at zero (the paper allows any
/// v_{-1} >= tau^2; zero is what Flower and FedML do). Embedding tables
/// are stepped lazily: only the rows some client changed this round move, and only they
/// update their moments (a row no silo touched keeps its state, as in the lazy Adam of the
/// clients), so the step stays as sparse as the round and the moments cost the rows ever
/// touched, not the catalogue. Each step is rounded to 11 significant bits, like FedAvg's,
/// so a client holding the version before downloads it as a delta.
public struct FedOpt: Strategy {
    /// Which second-moment rule.
    public enum Rule: String, Sendable, CaseIterable {
        case adam, yogi, adagrad
    }

    public let rule: Rule
    /// eta: the server's learning rate.
    public var learningRate: Float
    public var beta1: Float
    /// Unused by Adagrad.
    public var beta2: Float
    /// tau: the adaptivity; larger is closer to FedAvgM.
    public var tau: Float
    /// Per tensor of the model, its moments: made the first time the tensor is stepped, by
    /// row when it came as rows then (a table summed by row stays so).
    private var moments: [Moments?] = []

    public init(rule: Rule, learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.99, tau: Float = 1e-4) {
        self.rule = rule
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.tau = tau
    }

    public var name: String { "fed\(rule.rawValue) eta \(learningRate) tau \(tau)" }

    public mutating func aggregate(_ round: UpdateAccumulator, into global: inout Weights) -> ModelStep? {
        guard var step = round.meanStep(rowWise: false, rounded: false) else { return nil }
        if moments.isEmpty { moments = Array(repeating: nil, count: global.layout.tensors.count) }
        for i in step.tensors.indices {
            let spec = global.layout.tensors[i]
            var state = moments[i] ?? Moments(spec: spec, byRow: step.tensors[i].rows != nil)
            defer { moments[i] = state }
            guard spec.shape.count == 2, step.tensors[i].rows != nil || state.byRow else {
                stepValues(&step.tensors[i].values, 0..<step.tensors[i].values.count, &state, at: 0)
                continue
            }
            let width = spec.shape[1]
            let rows = step.tensors[i].rows ?? (0..<Int32(spec.shape[0])).map { $0 }
            for (k, row) in rows.enumerated() {
                let offset = state.byRow ? state.slot(of: row) * width : Int(row) * width
                stepValues(&step.tensors[i].values, (k * width)..<((k + 1) * width), &state, at: offset)
            }
        }
        step.add(to: &global)
        return .added(step)
    }

    /// Turns the deltas in `values[range]` into the server's steps, updating the moments from `offset`.
    private func stepValues(_ values: inout [Float], _ range: Range<Int>, _ state: inout Moments, at offset: Int) {
        let (b1, b2, eta, tau, rule) = (beta1, beta2, learningRate, tau, rule)
        for (j, index) in range.enumerated() {
            let d = values[index], s = offset + j
            let m = b1 * state.first[s] + (1 - b1) * d
            let d2 = d * d, old = state.second[s]
            let v: Float =
                switch rule {
                case .adam: b2 * old + (1 - b2) * d2
                case .yogi: old - (1 - b2) * d2 * (old - d2 > 0 ? 1 : old - d2 < 0 ? -1 : 0)
                case .adagrad: old + d2
                }
            state.first[s] = m
            state.second[s] = v
            values[index] = UpdateAccumulator.roundedStep(eta * m / (v.squareRoot() + tau))
        }
    }

    public func stateLayout(for model: ParameterLayout) -> ParameterLayout? {
        let prefix = "fed\(rule.rawValue)."
        return ParameterLayout(
            model.tensors.flatMap {
                [TensorSpec(name: prefix + "m." + $0.name, shape: $0.shape), TensorSpec(name: prefix + "v." + $0.name, shape: $0.shape)]
            })
    }

    public func savedState(for model: ParameterLayout) -> SparseWeights? {
        guard let layout = stateLayout(for: model) else { return nil }
        // A tensor never stepped: zeros (a table: no rows).
        let all = model.tensors.indices.map { i in
            (i < moments.count ? moments[i] : nil) ?? Moments(spec: model.tensors[i], byRow: model.tensors[i].shape.count == 2)
        }
        let tensors = all.flatMap { state -> [SparseWeights.Tensor] in
            guard state.byRow else { return [.init(rows: nil, values: state.first), .init(rows: nil, values: state.second)] }
            // Rows ascending, as a payload lists them.
            let order = state.rows.indices.sorted { state.rows[$0] < state.rows[$1] }
            func gather(_ values: [Float]) -> [Float] { order.flatMap { values[($0 * state.width)..<(($0 + 1) * state.width)] } }
            let rows = order.map { state.rows[$0] }
            return [.init(rows: rows, values: gather(state.first)), .init(rows: rows, values: gather(state.second))]
        }
        return SparseWeights(layout: layout, tensors: tensors)
    }

    public mutating func restore(_ state: SparseWeights) {
        moments = stride(from: 0, to: state.tensors.count, by: 2).map { i in
            let spec = state.layout.tensors[i]
            let (m, v) = (state.tensors[i], state.tensors[i + 1])
            let width = spec.shape.count == 2 ? spec.shape[1] : 1
            guard let rows = m.rows else { return Moments(width: width, slotOfRow: nil, rows: [], first: m.values, second: v.values) }
            var slots: [Int32: Int] = [:]
            for (k, row) in rows.enumerated() { slots[row] = k }
            return Moments(width: width, slotOfRow: slots, rows: rows, first: m.values, second: v.values)
        }
    }

    /// One tensor's moments: every value, or (a table) the rows some round changed, by slot.
    struct Moments: Sendable {
        let width: Int
        var slotOfRow: [Int32: Int]?
        var rows: [Int32]
        var first: [Float]
        var second: [Float]

        var byRow: Bool { slotOfRow != nil }

        init(width: Int, slotOfRow: [Int32: Int]?, rows: [Int32], first: [Float], second: [Float]) {
            (self.width, self.slotOfRow, self.rows, self.first, self.second) = (width, slotOfRow, rows, first, second)
        }

        init(spec: TensorSpec, byRow: Bool) {
            width = spec.shape.count == 2 ? spec.shape[1] : 1
            slotOfRow = byRow ? [:] : nil
            rows = []
            let count = byRow ? 0 : spec.elementCount
            first = [Float](repeating: 0, count: count)
            second = first
        }

        /// The slot of `row`, made (zero moments) the first time.
        mutating func slot(of row: Int32) -> Int {
            if let slot = slotOfRow?[row] { return slot }
            let slot = rows.count
            slotOfRow?[row] = slot
            rows.append(row)
            first.append(contentsOf: repeatElement(0, count: width))
            second.append(contentsOf: repeatElement(0, count: width))
            return slot
        }
    }
}
