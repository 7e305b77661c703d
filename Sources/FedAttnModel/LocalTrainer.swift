public import FedAttnCore

/// How a model trains locally.
public struct TrainingConfig: Sendable, Hashable {
    public var batchSize: Int
    public var learningRate: Float
    /// Seeds the shuffling; with the same seed and thread count a run is repeated exactly.
    public var seed: UInt64
    /// Worker threads; each takes a fixed slice of every batch, so results depend on the
    /// thread count but not on scheduling.
    public var threads: Int
    /// FedProx: adds mu/2 |w - w_start|^2 to the loss, w_start being the parameters the
    /// trainer started from (a federation's global model). It keeps a silo from drifting
    /// toward its own data over a local epoch; 0 turns it off.
    public var proximalMu: Float

    public init(batchSize: Int = 256, learningRate: Float = 1e-3, seed: UInt64 = 0, threads: Int = 1, proximalMu: Float = 0) {
        precondition(batchSize >= 1, "The batch size must be at least 1, got \(batchSize).")
        precondition(threads >= 1, "At least one thread is needed, got \(threads).")
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        self.threads = threads
        self.proximalMu = proximalMu
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
///
/// Each worker owns a replica of the parameters. Every batch, each computes the gradient of
/// its fixed slice of the batch; then each takes the Adam step for its own chunk of the
/// parameters, from the sum of all workers' gradients added in a fixed order, writing the
/// chunk into its own replica; at the start of the next batch each copies the chunks the
/// others stepped. So a core writes only its own memory and reads the others' sequentially.
/// (With one shared copy, every core re-fetched each row the other had just updated: a
/// random-access miss per row, which made 2 threads only 1.1 to 1.6 times as fast as one.)
public final class LocalTrainer {
    /// The model as of the last finished epoch.
    public private(set) var model: AttentionModel
    public let config: TrainingConfig
    private var rng: SeededGenerator
    private var epochsDone = 0
    private let pool: WorkerPool
    private let workers: [Worker]
    /// One Adam state; worker t alone steps `chunks[t]` of it.
    private let optimizer: Adam
    private let chunks: [Range<Int>]
    /// The parameters FedProx pulls toward.
    private let anchor: UnsafeMutablePointer<Float>

    /// What one worker owns: its kernel scratch, gradient buffer and parameter replica.
    private final class Worker {
        let kernel: ExampleKernel
        let gradient: UnsafeMutablePointer<Float>
        let parameters: UnsafeMutablePointer<Float>

        init(model: AttentionModel) {
            let count = model.parameterCount
            kernel = ExampleKernel(config: model.config, offsets: TensorOffsets(model.parameters.layout))
            gradient = .allocate(capacity: count)
            gradient.initialize(repeating: 0, count: count)
            let replica = UnsafeMutablePointer<Float>.allocate(capacity: count)
            model.parameters.values.withUnsafeBufferPointer { replica.initialize(from: $0.baseAddress!, count: $0.count) }
            parameters = replica
        }

        deinit {
            gradient.deallocate()
            parameters.deallocate()
        }
    }

    public init(model: AttentionModel, config: TrainingConfig) {
        self.model = model
        self.config = config
        rng = SeededGenerator(seed: config.seed)
        pool = WorkerPool(threads: config.threads)
        workers = (0..<config.threads).map { _ in Worker(model: model) }
        optimizer = Adam(parameterCount: model.parameterCount, learningRate: config.learningRate)
        let start = UnsafeMutablePointer<Float>.allocate(capacity: model.parameterCount)
        model.parameters.values.withUnsafeBufferPointer { start.initialize(from: $0.baseAddress!, count: $0.count) }
        anchor = start
        // Chunks aligned to 8 floats, so the SIMD loop covers all but the last one's tail.
        let count = model.parameterCount, threads = config.threads
        let size = (count / threads + 7) / 8 * 8
        chunks = (0..<threads).map { t in min(count, t * size)..<(t == threads - 1 ? count : min(count, (t + 1) * size)) }
    }

    deinit { anchor.deallocate() }

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
        // Each chunk is current in the replica of the worker that stepped it.
        model.parameters.values.withUnsafeMutableBufferPointer { model in
            for (worker, chunk) in zip(workers, chunks) {
                (model.baseAddress! + chunk.lowerBound).update(from: worker.parameters + chunk.lowerBound, count: chunk.count)
            }
        }
        return EpochReport(
            epoch: epochsDone, examples: data.count, meanLoss: totalLoss / Double(data.count),
            seconds: (ContinuousClock.now - clock).seconds)
    }

    /// One Adam step on the mean loss of the batch; returns the batch's summed loss.
    private func trainBatch(_ batch: ArraySlice<Int32>, _ data: ExampleSet) -> Double {
        let threads = pool.threads, workers = workers, chunks = chunks, optimizer = optimizer
        let proximal = config.proximalMu > 0 ? (anchor: UnsafePointer(anchor), mu: config.proximalMu) : nil
        let scale = 1 / Float(batch.count)
        let gradients = workers.map(\.gradient)
        var losses = [Double](repeating: 0, count: threads)
        data.withColumns { columns in
            batch.withUnsafeBufferPointer { indices in
                losses.withUnsafeMutableBufferPointer { lossOut in
                    pool.run { t in
                        let worker = workers[t]
                        // Bring in the chunks the other workers stepped last time.
                        for (u, chunk) in chunks.enumerated() where u != t {
                            (worker.parameters + chunk.lowerBound).update(from: workers[u].parameters + chunk.lowerBound, count: chunk.count)
                        }
                        let work = BatchWork(parameters: worker.parameters, columns: columns, indices: indices, threads: threads, scale: scale)
                        lossOut[t] = work.run(slice: t, kernel: worker.kernel, gradient: worker.gradient, count: optimizer.parameterCount)
                    }
                }
            }
        }
        let step = optimizer.beginStep()
        pool.run { t in
            optimizer.update(chunks[t], summing: gradients, parameters: workers[t].parameters, step: step, proximal: proximal)
        }
        return losses.reduce(0, +)
    }
}

/// The per-batch inputs every worker reads.
private struct BatchWork {
    let parameters: UnsafePointer<Float>
    let columns: ExampleColumns
    let indices: UnsafeBufferPointer<Int32>
    let threads: Int
    let scale: Float

    /// Zeroes `gradient` (its own buffer, so on its own core), then accumulates the
    /// gradient of worker `slice`'s share of the batch into it.
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
