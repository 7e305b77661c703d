public import FedAttnCore

/// How a round's updates become the next global model. The coordinator owns all I/O and
/// the round loop; a strategy only combines. Updates stream into an `UpdateAccumulator`;
/// the strategy then turns the accumulated round into the next model, and may keep state
/// between rounds (server momentum, server Adam).
public protocol Strategy: Sendable {
    /// A short name for logs and the round history.
    var name: String { get }
    /// Turns `global` into the next global model in place (a 4M-row model is not copied)
    /// from the round's accumulated updates; false, leaving it unchanged, when there is
    /// nothing to publish.
    mutating func aggregate(_ round: UpdateAccumulator, into global: inout Weights) -> Bool
    /// Whether a round changes only the table rows its updates sent (and the dense tensors):
    /// then the coordinator serves the change alone as a delta download.
    var changesOnlyRowsSent: Bool { get }
}

extension Strategy {
    /// The next global model from `global` and the round's updates, as a new value (a copy
    /// of the model), or nil when there is nothing to publish.
    public mutating func aggregate(_ round: UpdateAccumulator, global: Weights) -> Weights? {
        var next = global
        return aggregate(round, into: &next) ? next : nil
    }
}

/// Federated averaging (McMahan et al.): the example-weighted mean delta, scaled by a
/// server learning rate (1 is plain FedAvg), with optional server momentum (FedAvgM).
public struct FedAvg: Strategy {
    public var serverLearningRate: Float
    public var momentum: Float
    /// Average an embedding row only over the clients that trained it.
    public var rowWise: Bool
    private var velocity: Weights?

    public init(serverLearningRate: Float = 1, momentum: Float = 0, rowWise: Bool = false) {
        self.serverLearningRate = serverLearningRate
        self.momentum = momentum
        self.rowWise = rowWise
    }

    public var name: String {
        "fedavg" + (momentum > 0 ? "m(\(momentum))" : "") + (rowWise ? "+rowwise" : "") + (serverLearningRate != 1 ? " lr \(serverLearningRate)" : "")
    }

    /// Server momentum moves every row with velocity, sent this round or not.
    public var changesOnlyRowsSent: Bool { momentum == 0 }

    public mutating func aggregate(_ round: UpdateAccumulator, into global: inout Weights) -> Bool {
        guard momentum > 0 else {
            // global + lr * mean, row by row: the same numbers as building the step first.
            return round.addMean(to: &global, scaledBy: serverLearningRate, rowWise: rowWise)
        }
        // FedAvgM keeps a velocity the size of the model.
        guard let step = round.meanDelta(rowWise: rowWise) else { return false }
        var v = velocity ?? Weights(zerosLike: global.layout)
        v.scale(by: momentum)
        v.add(step)
        velocity = v
        global.add(v, scaledBy: serverLearningRate)
        return true
    }
}
