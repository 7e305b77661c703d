public import FedAttnCore
import Foundation

/// Client-level differentially private FedAvg (McMahan, Ramage, Talwar and Zhang, "Learning
/// Differentially Private Recurrent Language Models", ICLR 2018): each update is clipped to
/// an L2 norm of at most `clipNorm`, the clipped updates are summed with equal weight (an
/// example count would let one silo count for more), Gaussian noise of standard deviation
/// `noiseMultiplier * clipNorm` is added to every coordinate of the sum, and the sum is
/// divided by the number of updates. One silo's whole update then changes the published
/// model by at most what the noise hides, and the coordinator's RDP accountant turns the
/// rounds into an (epsilon, delta) per silo.
///
/// The noise covers every coordinate, so the step is dense (the item table too): a round
/// costs O(model), and downloads are the whole table's step. The noise comes from the
/// system's cryptographic generator. The number of updates is not hidden (it is the round's
/// participation, which the coordinator sees anyway).
public struct DPFedAvg: Strategy {
    public let clipNorm: Double
    public let noiseMultiplier: Double
    public var learningRate: Float

    public init(clipNorm: Double, noiseMultiplier: Double, learningRate: Float = 1) {
        precondition(clipNorm > 0 && noiseMultiplier >= 0, "A positive clip norm and a noise multiplier of 0 or more.")
        self.clipNorm = clipNorm
        self.noiseMultiplier = noiseMultiplier
        self.learningRate = learningRate
    }

    public var name: String { "dp-fedavg clip \(clipNorm) noise \(noiseMultiplier)" }
    public var needsUpdates: Bool { true }

    public mutating func aggregate(_ round: UpdateAccumulator, into global: inout Weights) -> ModelStep? {
        precondition(round.keepsUpdates, "DP-FedAvg clips each update.")
        guard !round.updates.isEmpty else { return nil }
        var sum = Weights(zerosLike: global.layout)
        for update in round.updates {
            RobustAggregation.bounded(update, to: clipNorm).delta.add(to: &sum)
        }
        var generator = SystemRandomNumberGenerator()
        let deviation = noiseMultiplier * clipNorm
        let count = Float(round.updates.count)
        // Row 0 of the item table (padding) stays zero.
        let padding = global.layout.tensors[0].shape.count == 2 ? global.layout.tensors[0].shape[1] : 0
        for k in sum.values.indices where k >= padding {
            let noisy = Double(sum.values[k]) + deviation * Self.standardNormal(&generator)
            sum.values[k] = UpdateAccumulator.roundedStep(learningRate * Float(noisy) / count)
        }
        for k in 0..<padding { sum.values[k] = 0 }
        let step = SparseWeights(sum, sparseTensors: [])
        step.add(to: &global)
        return .added(step)
    }

    /// A standard normal draw (Box-Muller) from `generator`.
    static func standardNormal(_ generator: inout some RandomNumberGenerator) -> Double {
        let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &generator)
        let u2 = Double.random(in: 0..<1, using: &generator)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
