public import FedAttnCore

/// How a round's updates become the next global model. The coordinator owns all I/O and
/// the round loop; a strategy only combines. Updates stream into an `UpdateAccumulator`;
/// the strategy then turns the accumulated round into the next model, and may keep state
/// between rounds (server momentum, server Adam).
public protocol Strategy: Sendable {
    /// A short name for logs and the round history.
    var name: String { get }
    /// Turns `global` into the next global model in place (a 4M-row model is not copied)
    /// from the round's accumulated updates. Returns how it changed, or nil (leaving it
    /// unchanged) when there is nothing to publish.
    mutating func aggregate(_ round: UpdateAccumulator, into global: inout Weights) -> ModelStep?

    /// The layout of the state this strategy keeps across rounds for a model of `model`'s
    /// layout (tensor names carry the strategy's name, so another strategy's state does not
    /// decode as this one's); nil when it keeps none.
    func stateLayout(for model: ParameterLayout) -> ParameterLayout?
    /// The state to make durable with the round just aggregated, in `stateLayout`'s layout
    /// (tables as the rows that have any state); nil when it keeps none.
    func savedState(for model: ParameterLayout) -> SparseWeights?
    /// Takes back the state `savedState` returned (a coordinator resuming from its state folder).
    mutating func restore(_ state: SparseWeights)
    /// Whether `aggregate` reads the round's individual updates (`UpdateAccumulator.updates`),
    /// not just their sums.
    var needsUpdates: Bool { get }
}

extension Strategy {
    public var needsUpdates: Bool { false }
    public func stateLayout(for model: ParameterLayout) -> ParameterLayout? { nil }
    public func savedState(for model: ParameterLayout) -> SparseWeights? { nil }
    public mutating func restore(_ state: SparseWeights) {}
}

/// How a round changed the global model.
public enum ModelStep: Sendable {
    /// Exactly these values were added (`SparseWeights.add(to:)`): the rows of a table that
    /// are not listed did not move. The coordinator serves it as the delta download.
    case added(SparseWeights)
    /// Anything may have changed (server momentum moves every row with velocity).
    case anything
}

extension Strategy {
    /// The next global model from `global` and the round's updates, as a new value (a copy
    /// of the model), or nil when there is nothing to publish.
    public mutating func aggregate(_ round: UpdateAccumulator, global: Weights) -> Weights? {
        var next = global
        return aggregate(round, into: &next) == nil ? nil : next
    }
}

/// Federated averaging (McMahan et al., 2017): the example-weighted mean delta, scaled by a
/// server learning rate (1 is plain FedAvg), with optional server momentum (FedAvgM, Hsu et
/// al., 2019). Without momentum the step is rounded to 11 significant bits (the precision
/// of the float16 updates it averages) and added row by row: a client holding the last
/// version downloads just those steps, and they pack to about half their float32 size.
public struct FedAvg: Strategy {
    public var serverLearningRate: Float
    public var momentum: Float
    /// Average an embedding row only over the clients that trained it.
    public var rowWise: Bool
    /// The rule's name in logs ("fednova" when the round's mean is FedNova's).
    public var label: String
    private var velocity: Weights?

    public init(serverLearningRate: Float = 1, momentum: Float = 0, rowWise: Bool = false, label: String = "fedavg") {
        self.serverLearningRate = serverLearningRate
        self.momentum = momentum
        self.rowWise = rowWise
        self.label = label
    }

    public var name: String {
        label + (momentum > 0 ? "m(\(momentum))" : "") + (rowWise ? "+rowwise" : "") + (serverLearningRate != 1 ? " lr \(serverLearningRate)" : "")
    }

    public mutating func aggregate(_ round: UpdateAccumulator, into global: inout Weights) -> ModelStep? {
        guard momentum > 0 else {
            // global + lr * mean (rounded to 11 significant bits), row by row.
            guard let step = round.meanStep(scaledBy: serverLearningRate, rowWise: rowWise) else { return nil }
            step.add(to: &global)
            return .added(step)
        }
        // FedAvgM keeps a velocity the size of the model.
        guard let step = round.meanDelta(rowWise: rowWise) else { return nil }
        var v = velocity ?? Weights(zerosLike: global.layout)
        v.scale(by: momentum)
        v.add(step)
        velocity = v
        global.add(v, scaledBy: serverLearningRate)
        return .anything
    }

    public func stateLayout(for model: ParameterLayout) -> ParameterLayout? {
        momentum > 0 ? ParameterLayout(model.tensors.map { TensorSpec(name: "fedavgm.velocity." + $0.name, shape: $0.shape) }) : nil
    }

    public func savedState(for model: ParameterLayout) -> SparseWeights? {
        guard let layout = stateLayout(for: model) else { return nil }
        let v = velocity ?? Weights(zerosLike: model)
        return SparseWeights(
            layout: layout, tensors: model.tensors.indices.map { SparseWeights.Tensor(rows: nil, values: Array(v.values[model.range(at: $0)])) })
    }

    public mutating func restore(_ state: SparseWeights) {
        let model = ParameterLayout(
            state.layout.tensors.map { TensorSpec(name: String($0.name.dropFirst("fedavgm.velocity.".count)), shape: $0.shape) })
        velocity = Weights(layout: model, values: state.densified().values)
    }
}
