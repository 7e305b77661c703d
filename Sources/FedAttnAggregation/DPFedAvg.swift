public import FedAttnCore
import Foundation

/// Client-level differentially private federated averaging (McMahan, Ramage, Talwar and
/// Zhang, "Learning Differentially Private Recurrent Language Models", ICLR 2018), as a
/// wrapper around a server strategy (as Flower's server-side DP wrappers are): each update is
/// clipped to an L2 norm of at most `clipNorm`, the clipped updates are summed with equal
/// weight (an example count would let one silo count for more), Gaussian noise of standard
/// deviation `noiseMultiplier * clipNorm` is added to every coordinate of the sum, and the sum
/// is divided by the number of updates. That noised mean is then handed to `inner` as the
/// round's one update: FedAvg steps along it (DP-FedAvg proper), an adaptive server optimiser
/// takes it as its pseudo-gradient (DP-FedAdam, DP-FedYogi, DP-FedAdagrad, DP-FedAvgM). What
/// `inner` does with it is post-processing: the guarantee is the noised mean's. One silo's
/// whole update then changes the published model by at most what the noise hides, and the
/// coordinator's RDP accountant turns the rounds into an (epsilon, delta) per silo.
///
/// With `adaptive`, the clip norm follows a quantile of the updates' norms (Andrew, Thakkar,
/// McMahan and Ramaswamy, "Differentially Private Learning with Adaptive Clipping", NeurIPS
/// 2021): see `AdaptiveClipping`.
///
/// The noise covers every coordinate, so the step is dense (the item table too): a round
/// costs O(model), and downloads are the whole table's step. The noise comes from the
/// system's cryptographic generator. The number of updates is not hidden (it is the round's
/// participation, which the coordinator sees anyway).
public struct DPFedAvg: Strategy {
    /// The clip norm of the next round (adaptive clipping moves it).
    public private(set) var clipNorm: Double
    /// z: the noise multiplier of the whole mechanism, which the accountant composes.
    public let noiseMultiplier: Double
    /// Adaptive clipping's settings, when the clip norm follows a quantile of the norms.
    public let adaptive: AdaptiveClipping?
    /// The strategy the noised mean is handed to; it must not read individual updates (it
    /// gets one).
    public private(set) var inner: any Strategy

    /// DP-FedAvg proper: FedAvg at server learning rate `learningRate` around the noised mean.
    /// - Precondition: as `init(wrapping:...)`.
    public init(clipNorm: Double, noiseMultiplier: Double, learningRate: Float = 1, adaptive: AdaptiveClipping? = nil) {
        self.init(wrapping: FedAvg(serverLearningRate: learningRate), clipNorm: clipNorm, noiseMultiplier: noiseMultiplier, adaptive: adaptive)
    }

    /// Client-level DP around `inner`.
    /// - Precondition: a positive clip norm, a noise multiplier of 0 or more, with `adaptive` a
    ///   count noise above noiseMultiplier / 2, and an `inner` that reads the round's sums only
    ///   (not a robust rule).
    public init(wrapping inner: any Strategy, clipNorm: Double, noiseMultiplier: Double, adaptive: AdaptiveClipping? = nil) {
        precondition(clipNorm > 0 && noiseMultiplier >= 0, "A positive clip norm and a noise multiplier of 0 or more.")
        if let adaptive { precondition(adaptive.countNoise > noiseMultiplier / 2, "The count's noise must exceed z / 2.") }
        precondition(!inner.needsUpdates, "Client-level DP hands its inner strategy one update: the noised mean.")
        self.clipNorm = clipNorm
        self.noiseMultiplier = noiseMultiplier
        self.adaptive = adaptive
        self.inner = inner
    }

    public var name: String {
        // "dp-fedavg" for DP-FedAvg proper; "dp-" and the inner rule's name around any other.
        let plain = (inner as? FedAvg).map { $0.momentum == 0 && !$0.rowWise && $0.label == "fedavg" } ?? false
        let rule = plain ? "dp-fedavg" : "dp-" + inner.name
        return "\(rule) clip \(adaptive == nil ? "\(clipNorm)" : "adaptive from \(clipNorm)") noise \(noiseMultiplier)"
    }
    public var needsUpdates: Bool { true }

    /// The noise multiplier of the updates' sum: z itself, or with adaptive clipping the
    /// share of z the count leaves, (z^-2 - (2 sigma_b)^-2)^(-1/2) (Andrew et al., Thm. 1).
    public var sumNoiseMultiplier: Double {
        guard let adaptive, noiseMultiplier > 0 else { return noiseMultiplier }
        return 1 / (1 / (noiseMultiplier * noiseMultiplier) - 1 / (4 * adaptive.countNoise * adaptive.countNoise)).squareRoot()
    }

    public mutating func aggregate(_ round: UpdateAccumulator, into global: inout Weights) -> ModelStep? {
        precondition(round.keepsUpdates, "DP-FedAvg clips each update.")
        guard !round.updates.isEmpty else { return nil }
        var sum = Weights(zerosLike: global.layout)
        var unclipped = 0.0
        for update in round.updates {
            // Centred, as Andrew et al.'s Theorem 1 needs: one silo moves the count by 1/2.
            unclipped += update.delta.l2Norm <= clipNorm ? 0.5 : -0.5
            RobustAggregation.bounded(update, to: clipNorm).delta.add(to: &sum)
        }
        var generator = SystemRandomNumberGenerator()
        let deviation = sumNoiseMultiplier * clipNorm
        let count = Double(round.updates.count)
        // Row 0 of the item table (padding) stays zero.
        let padding = global.layout.tensors[0].shape.count == 2 ? global.layout.tensors[0].shape[1] : 0
        for k in sum.values.indices where k >= padding {
            sum.values[k] = Float((Double(sum.values[k]) + deviation * Self.standardNormal(&generator)) / count)
        }
        for k in 0..<padding { sum.values[k] = 0 }
        if let adaptive {
            let noisyCount = unclipped + adaptive.countNoise * Self.standardNormal(&generator)
            // Over the expected clients (public), not the number that came; clamped to a share.
            let share = min(1, max(0, noisyCount / Double(adaptive.expectedClients) + 0.5))
            // Held at float32 precision, the state's: a resumed run goes on from the same value.
            clipNorm = Double(Float(adaptive.next(clipNorm: clipNorm, unclippedShare: share)))
        }
        // The noised mean is the round's one update, of weight 1 (its mean is itself), summed
        // whole: every row moved, so the step is dense and clients download the whole model.
        var noised = UpdateAccumulator(layout: round.layout, weighting: .examples)
        noised.add(ClientUpdate(client: "noised mean of \(round.updates.count)", exampleCount: 1, delta: SparseWeights(sum, sparseTensors: [])))
        return inner.aggregate(noised, into: &global)
    }

    /// A standard normal draw (Box-Muller) from `generator`.
    static func standardNormal(_ generator: inout some RandomNumberGenerator) -> Double {
        let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &generator)
        let u2 = Double.random(in: 0..<1, using: &generator)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    // The adaptive clip norm is state: a coordinator restarted mid-run goes on from it. The
    // inner strategy's state (FedAdam's moments) follows it, under the inner's own names.
    static let clipStateName = "dp-fedavg.clip_norm"

    public func stateLayout(for model: ParameterLayout) -> ParameterLayout? {
        let own = adaptive == nil ? [] : [TensorSpec(name: Self.clipStateName, shape: [1])]
        let theirs = inner.stateLayout(for: model)?.tensors ?? []
        return own.isEmpty && theirs.isEmpty ? nil : ParameterLayout(own + theirs)
    }

    public func savedState(for model: ParameterLayout) -> SparseWeights? {
        guard let layout = stateLayout(for: model) else { return nil }
        let own = adaptive == nil ? [] : [SparseWeights.Tensor(rows: nil, values: [Float(clipNorm)])]
        return SparseWeights(layout: layout, tensors: own + (inner.savedState(for: model)?.tensors ?? []))
    }

    public mutating func restore(_ state: SparseWeights) {
        var tensors = Array(zip(state.layout.tensors, state.tensors))
        if let first = tensors.first, first.0.name == Self.clipStateName {
            tensors.removeFirst()
            if let value = first.1.values.first, value > 0, value.isFinite { clipNorm = Double(value) }
        }
        guard !tensors.isEmpty else { return }
        inner.restore(SparseWeights(layout: ParameterLayout(tensors.map(\.0)), tensors: tensors.map(\.1)))
    }
}

/// Adaptive clipping (Andrew et al., NeurIPS 2021, Alg. 1 with the geometric update): after
/// each round the coordinator sums b - 1/2 over the updates (b = 1 when the norm was within
/// the clip norm C), adds Gaussian noise of standard deviation `countNoise` (so the clip norm
/// it publishes is private too), divides by the expected clients per round and adds 1/2 back
/// (the noisy share within C, clamped to [0, 1]), and moves C toward the `targetQuantile` of
/// the norms: C <- C exp(-eta (share - targetQuantile)). The sum's noise multiplier is lowered
/// so that sum and count together keep the noise multiplier z the accountant uses.
public struct AdaptiveClipping: Sendable, Hashable {
    /// gamma: the share of updates meant to be left unclipped (0.5: the median norm).
    public var targetQuantile: Double
    /// eta_C of the geometric update.
    public var learningRate: Double
    /// sigma_b: the count's noise standard deviation; more than z / 2 (the paper: expected
    /// clients per round / 20).
    public var countNoise: Double
    /// The clients a round expects (clients per round, or all): the count's divisor, public.
    public var expectedClients: Int

    public init(targetQuantile: Double = 0.5, learningRate: Double = 0.2, countNoise: Double, expectedClients: Int) {
        precondition(expectedClients >= 1, "At least one expected client.")
        self.expectedClients = expectedClients
        self.targetQuantile = targetQuantile
        self.learningRate = learningRate
        self.countNoise = countNoise
    }

    /// The clip norm after a round that left `unclippedShare` (noisy) of the updates unclipped.
    public func next(clipNorm: Double, unclippedShare: Double) -> Double {
        clipNorm * exp(-learningRate * (unclippedShare - targetQuantile))
    }
}
