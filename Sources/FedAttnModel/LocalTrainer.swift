import FedAttnCore

/// How a model trains locally.
public struct TrainingConfig: Sendable, Hashable {
    public var batchSize: Int
    public var learningRate: Float
    /// Seeds the shuffling; with the same seed and thread count a run is repeated exactly.
    public var seed: UInt64
    /// Worker threads; each takes a fixed slice of every batch, so results depend on the
    /// thread count but not on scheduling.
    public var threads: Int

    public init(batchSize: Int = 256, learningRate: Float = 1e-3, seed: UInt64 = 0, threads: Int = 1) {
        precondition(batchSize >= 1, "The batch size must be at least 1, got \(batchSize).")
        precondition(threads >= 1, "At least one thread is needed, got \(threads).")
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        self.threads = threads
    }
}

/// What one epoch did.
public struct EpochReport: Sendable {
    public let epoch: Int
    public let examples: Int
    /// The mean training loss over the epoch's examples, as the model was while it trained.
    public let meanLoss: Double
    public let seconds: Double
}

/// Trains an AttentionModel with mini-batch Adam, on one or more threads.
public final class LocalTrainer {
    public private(set) var model: AttentionModel
    public let config: TrainingConfig
    private let optimizer: Adam
    private var rng: SeededGenerator
    private var epochsDone = 0
    private let kernels: [ExampleKernel]
    private let pool: WorkerPool
    /// One gradient buffer per worker, owned here so that workers can hold raw pointers.
    private let gradients: [UnsafeMutablePointer<Float>]

    public init(model: AttentionModel, config: TrainingConfig) {
        self.model = model
        self.config = config
        optimizer = Adam(parameterCount: model.parameterCount, learningRate: config.learningRate)
        rng = SeededGenerator(seed: config.seed)
        let offsets = TensorOffsets(model.parameters.layout)
        pool = WorkerPool(threads: config.threads)
        kernels = (0..<config.threads).map { _ in ExampleKernel(config: model.config, offsets: offsets) }
        gradients = (0..<config.threads).map { _ in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: model.parameterCount)
            buffer.initialize(repeating: 0, count: model.parameterCount)
            return buffer
        }
    }

    deinit { for buffer in gradients { buffer.deallocate() } }

    /// One pass over `data` in a fresh random order. `progress` hears the examples done so far.
    @discardableResult
    public func trainEpoch(on data: ExampleSet, progress: ((Int) -> Void)? = nil) -> EpochReport {
        precondition(!data.isEmpty, "Cannot train on an empty example set.")
        data.requireFits(model.config)
        let clock = ContinuousClock.now
        var order = (0..<Int32(data.count)).map { $0 }
        order.shuffle(using: &rng)
        var totalLoss = 0.0
        let batchSize = config.batchSize
        var batchStart = 0
        while batchStart < order.count {
            let batchEnd = min(batchStart + batchSize, order.count)
            totalLoss += trainBatch(order[batchStart..<batchEnd], data)
            batchStart = batchEnd
            if let progress, (batchStart / batchSize) % 50 == 0 || batchStart == order.count { progress(batchStart) }
        }
        epochsDone += 1
        return EpochReport(
            epoch: epochsDone, examples: data.count, meanLoss: totalLoss / Double(data.count),
            seconds: (ContinuousClock.now - clock).seconds)
    }

    /// One Adam step on the mean loss of the batch; returns the batch's summed loss.
    private func trainBatch(_ batch: ArraySlice<Int32>, _ data: ExampleSet) -> Double {
        let losses = computeGradients(batch, data)
        applyGradients()
        return losses.reduce(0, +)
    }

    /// Each worker writes the gradient of its slice of the batch into its own buffer.
    private func computeGradients(_ batch: ArraySlice<Int32>, _ data: ExampleSet) -> [Double] {
        let threads = pool.threads
        var losses = [Double](repeating: 0, count: threads)
        let kernels = kernels, gradients = gradients, count = model.parameterCount
        let scale = 1 / Float(batch.count)
        model.parameters.values.withUnsafeBufferPointer { parameters in
            data.withColumns { columns in
                batch.withUnsafeBufferPointer { indices in
                    let work = BatchWork(
                        parameters: parameters.baseAddress!, columns: columns, indices: indices, threads: threads, scale: scale)
                    losses.withUnsafeMutableBufferPointer { lossOut in
                        pool.run { t in
                            lossOut[t] = work.run(slice: t, kernel: kernels[t], gradient: gradients[t], count: count)
                        }
                    }
                }
            }
        }
        return losses
    }

    /// Sums the workers' gradients in a fixed order (so the result does not depend on
    /// timing) and applies Adam, each worker over its own chunk of the parameters.
    private func applyGradients() {
        let threads = pool.threads
        let step = optimizer.beginStep()
        let adam = optimizer, buffers = gradients, count = model.parameterCount
        let chunk = (count / threads + 7) / 8 * 8
        model.parameters.values.withUnsafeMutableBufferPointer { p in
            let parameters = p.baseAddress!
            pool.run { t in
                let range = min(count, t * chunk)..<(t == threads - 1 ? count : min(count, (t + 1) * chunk))
                for other in 1..<threads { add(buffers[other] + range.lowerBound, buffers[0] + range.lowerBound, range.count) }
                adam.update(range, gradient: buffers[0], parameters: parameters, step: step)
            }
        }
    }
}

/// The per-batch inputs every worker reads.
private struct BatchWork {
    let parameters: UnsafePointer<Float>
    let columns: ExampleColumns
    let indices: UnsafeBufferPointer<Int32>
    let threads: Int
    let scale: Float

    /// Zeroes `gradient`, then accumulates the gradient of worker `slice`'s share of the batch.
    func run(slice: Int, kernel: ExampleKernel, gradient: UnsafeMutablePointer<Float>, count: Int) -> Double {
        zero(gradient, count)
        let lo = indices.count * slice / threads
        let hi = indices.count * (slice + 1) / threads
        var loss = 0.0
        for j in lo..<hi {
            loss += Double(kernel.accumulateGradient(parameters, gradient, columns, Int(indices[j]), scale: scale))
        }
        return loss
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}
