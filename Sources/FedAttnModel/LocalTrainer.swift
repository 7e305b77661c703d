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
    /// Example-level DP-SGD when set (`PrivateTrainer`); plain Adam when nil.
    public var privacy: DPSGDConfig?
    /// Sampled negatives beside each clicked row (training to rank); none at count 0. A
    /// batch is then `batchSize` labelled rows, each with its negatives.
    public var negatives: NegativeSampling

    public init(
        batchSize: Int = 256, learningRate: Float = 1e-3, seed: UInt64 = 0, threads: Int = 1, proximalMu: Float = 0, privacy: DPSGDConfig? = nil,
        negatives: NegativeSampling = NegativeSampling(count: 0)
    ) {
        precondition(batchSize >= 1, "The batch size must be at least 1, got \(batchSize).")
        precondition(threads >= 1, "At least one thread is needed, got \(threads).")
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        self.threads = threads
        self.proximalMu = proximalMu
        self.privacy = privacy
        self.negatives = negatives
    }

    /// The trainer this configuration asks for: `PrivateTrainer` with `privacy`, else `LocalTrainer`.
    public func makeTrainer(for model: AttentionModel) -> any EpochTrainer {
        if let privacy { PrivateTrainer(model: model, config: self, privacy: privacy) } else { LocalTrainer(model: model, config: self) }
    }
}

/// What the local-training loops (`train`, a federation's round) need of a trainer.
public protocol EpochTrainer: AnyObject {
    /// The model; after `trainEpoch` returns, as of the last finished epoch.
    var model: AttentionModel { get }
    /// One epoch over `data`; `progress` hears the examples done so far.
    @discardableResult func trainEpoch(on data: ExampleSet, progress: ((Int) -> Void)?) -> EpochReport
    /// How far training has moved the model (the item table as its changed rows).
    func delta() -> SparseWeights
    /// The model as the trainer was given it; ends the trainer's use.
    func restoreStart() -> AttentionModel
}

/// What one epoch did.
public struct EpochReport: Sendable {
    public let epoch: Int
    /// Examples trained on, each sampled negative counted as one.
    public let examples: Int
    /// The mean training loss over the epoch's examples, as the model was while it trained.
    public let meanLoss: Double
    public let seconds: Double
}

/// Trains an AttentionModel with mini-batch Adam, on one or more threads.
///
/// The item table takes lazy Adam steps (see `Adam`): a step reads and writes only the rows
/// its batch touched, so a step costs the same on a 4M-row table as on a 2k-row one, and the
/// table's optimiser state and gradients cost memory only for the rows touched. The other
/// tensors (a few thousand floats) take dense steps.
///
/// All workers share one copy of the parameters: the model's own buffer, trained in place.
/// Each batch has two phases, separated by the pool's barrier. First each worker computes
/// the gradient of its fixed slice of the batch into its own buffer, only reading the
/// parameters. Then each steps its share of the batch's touched rows (and of the dense
/// tensors) from the sum of all workers' gradients, added in a fixed order, so the result
/// depends on the thread count but never on scheduling. (Hogwild-style concurrent writes
/// would drop determinism; per-thread replicas, as before, cost a table per thread.)
public final class LocalTrainer: EpochTrainer {
    /// The model; after `trainEpoch` returns, as of the last finished epoch.
    public private(set) var model: AttentionModel
    public let config: TrainingConfig
    private var rng: SeededGenerator
    private var epochsDone = 0
    private let pool: WorkerPool
    private let workers: [WorkerBuffers]
    private let optimizer: Adam
    /// The item table's rows and width; its rows are stepped lazily.
    private let tableRows: Int, width: Int
    /// The dense tensors (all but the item table), and each worker's share of their step.
    private let dense: Range<Int>
    private let denseChunks: [Range<Int>]
    private let touched: TouchedRows
    private let rowMoments: RowMoments
    /// The dense tensors as training found them (indexed like the parameters; only
    /// `dense` is written): FedProx's anchor and the base of `delta()`.
    private let denseAnchor: ZeroedBuffer<Float>
    private var hugePagesAdvised: UnsafeMutablePointer<Float>?
    /// The negatives' sampler, built once for the data it was built from (its candidates'
    /// buffer and count): a silo trains every epoch and round on the same examples.
    private var sampler: (data: UnsafePointer<Int32>?, count: Int, sampler: NegativeSampler)?

    /// What one worker owns: its kernel scratch and gradient buffers (the dense tensors'
    /// where they sit in the parameters, the item table's as the batch's rows, compactly:
    /// owner t's rows from t * batchCapacity on).
    final class WorkerBuffers {
        let kernel: ExampleKernel
        let gradient: ZeroedBuffer<Float>
        let tableGradient: ZeroedBuffer<Float>
        /// One example's history gradient rows.
        let historyRows: UnsafeMutablePointer<Int32>

        init(model: AttentionModel, batchRows: Int, width: Int) {
            kernel = ExampleKernel(config: model.config, offsets: TensorOffsets(model.parameters.layout), mode: .summed)
            gradient = ZeroedBuffer(count: model.parameterCount)
            tableGradient = ZeroedBuffer(count: batchRows * width)
            historyRows = .allocate(capacity: max(1, model.config.historyLength))
        }

        deinit { historyRows.deallocate() }
    }

    public init(model: AttentionModel, config: TrainingConfig) {
        self.model = model
        self.config = config
        rng = SeededGenerator(seed: config.seed)
        pool = WorkerPool(threads: config.threads)
        optimizer = Adam(parameterCount: model.parameterCount, learningRate: config.learningRate)
        let items = model.parameters.layout.tensors[0]
        precondition(items.name == AttentionModel.TensorName.items, "The item table must come first in the layout.")
        (tableRows, width) = (items.shape[0], items.shape[1])
        dense = items.elementCount..<model.parameterCount
        touched = TouchedRows(
            rowCount: tableRows, width: width, historyLength: model.config.historyLength, workers: config.threads,
            batchSize: config.batchSize * (1 + config.negatives.count))
        rowMoments = RowMoments(rows: touched.slotCapacity, width: width)
        let batchRows = touched.batchCapacity * config.threads
        workers = (0..<config.threads).map { [width] _ in WorkerBuffers(model: model, batchRows: batchRows, width: width) }
        denseAnchor = ZeroedBuffer(count: model.parameterCount)
        model.parameters.values.withUnsafeBufferPointer { [dense, denseAnchor] p in
            (denseAnchor.pointer + dense.lowerBound).initialize(from: p.baseAddress! + dense.lowerBound, count: dense.count)
        }
        // Chunks aligned to 8 floats, so the SIMD loop covers all but the last one's tail.
        let threads = config.threads, size = (dense.count / threads + 7) / 8 * 8
        denseChunks = (0..<threads).map { [dense] t in
            let lo = min(dense.upperBound, dense.lowerBound + t * size)
            return lo..<(t == threads - 1 ? dense.upperBound : min(dense.upperBound, lo + size))
        }
    }

    /// One pass over `data` in a fresh random order, with fresh negatives when the
    /// configuration asks for them (`TrainingConfig.negatives`): each batch is `batchSize`
    /// labelled rows with their negatives. `progress` hears the labelled rows done so far.
    @discardableResult
    public func trainEpoch(on data: ExampleSet, progress: ((Int) -> Void)? = nil) -> EpochReport {
        precondition(!data.isEmpty, "Cannot train on an empty example set.")
        data.requireFits(model.config)
        let clock = ContinuousClock.now
        let grouped = config.negatives.count > 0 ? negativeSampler(for: data).expand(data, using: &rng) : GroupedExamples(ungrouped: data)
        let examples = grouped.examples, starts = grouped.groupStarts
        var order = (0..<Int32(grouped.groupCount)).map { $0 }
        order.shuffle(using: &rng)
        var totalLoss = 0.0
        let batchSize = config.batchSize
        var batchStart = 0
        var batch: [Int32] = [], roles: [ExampleRole] = []
        batch.reserveCapacity(batchSize * (1 + config.negatives.count))
        roles.reserveCapacity(batch.capacity)
        let ranked = config.negatives.count > 0
        while batchStart < order.count {
            let batchEnd = min(batchStart + batchSize, order.count)
            batch.removeAll(keepingCapacity: true)
            roles.removeAll(keepingCapacity: true)
            for g in order[batchStart..<batchEnd] {
                let group = starts[Int(g)]..<starts[Int(g) + 1]
                batch.append(contentsOf: group)
                for member in 0..<group.count { roles.append(.of(member: member, ranked: ranked)) }
            }
            totalLoss += roles.withUnsafeBufferPointer { trainBatch(batch[...], $0, examples) }
            batchStart = batchEnd
            if let progress, (batchStart / batchSize) % 50 == 0 || batchStart == order.count { progress(batchStart) }
        }
        catchUpRows()
        epochsDone += 1
        return EpochReport(
            epoch: epochsDone, examples: examples.count, meanLoss: totalLoss / Double(examples.count),
            seconds: (ContinuousClock.now - clock).seconds)
    }

    /// The sampler of `data`'s negatives, kept while the same examples come back.
    private func negativeSampler(for data: ExampleSet) -> NegativeSampler {
        let identity = data.candidates.withUnsafeBufferPointer { $0.baseAddress }
        if let sampler, sampler.data == identity, sampler.count == data.count { return sampler.sampler }
        let made = NegativeSampler(config.negatives, data: data, tableRows: tableRows)
        sampler = (identity, data.count, made)
        return made
    }

    /// Brings every row touched so far up to the last step (see Adam+Rows.swift), so that
    /// the model is what dense Adam would have made it. Each worker brings its own rows.
    private func catchUpRows() {
        let pool = pool, optimizer = optimizer, rowMoments = rowMoments, width = width, touched = touched
        let mu = config.proximalMu, through = optimizer.step
        let proximal = mu > 0 ? (anchor: UnsafePointer(touched.originals.pointer), mu: mu) : nil
        model.parameters.values.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            pool.run { t in
                let owner = touched.owners[t]
                owner.rows.withUnsafeBufferPointer { rows in
                    owner.slots.withUnsafeBufferPointer { slots in
                        optimizer.catchUp(
                            rows: rows, slots: slots, width: width, table: p, moments: rowMoments, through: through, proximal: proximal)
                    }
                }
            }
        }
    }

    /// Puts every value training changed back as training found it (the rows touched, from
    /// their originals, and the dense tensors) and returns the model, bit for bit the one the
    /// trainer was made with, at the cost of the rows touched. Ends the trainer's use: a
    /// silo keeps the global model this way without copying it for each round.
    public func restoreStart() -> AttentionModel {
        let width = width, dense = dense, touched = touched, denseAnchor = denseAnchor
        model.parameters.values.withUnsafeMutableBufferPointer { p in
            for owner in touched.owners {
                for (row, slot) in zip(owner.rows, owner.slots) {
                    (p.baseAddress! + Int(row) * width).update(from: touched.originals.pointer + Int(slot) * width, count: width)
                }
            }
            (p.baseAddress! + dense.lowerBound).update(from: denseAnchor.pointer + dense.lowerBound, count: dense.count)
        }
        return model
    }

    /// How far training has moved the model from where it started: the item table as the
    /// rows that changed (ascending), every other tensor whole. Costs the rows touched, not
    /// the table.
    public func delta() -> SparseWeights {
        let layout = model.parameters.layout, width = width, originals = touched.originals.pointer
        let touchedRows = touched.owners.flatMap { owner in zip(owner.rows, owner.slots).map { (row: $0, slot: $1) } }.sorted { $0.row < $1.row }
        var rows: [Int32] = [], values: [Float] = []
        model.parameters.values.withUnsafeBufferPointer { p in
            for (row, slot) in touchedRows {
                let start = Int(row) * width, original = originals + Int(slot) * width
                let difference = (0..<width).map { p[start + $0] - original[$0] }
                guard difference.contains(where: { $0 != 0 }) else { continue }
                rows.append(row)
                values.append(contentsOf: difference)
            }
        }
        var tensors = [SparseWeights.Tensor(rows: rows, values: values)]
        for i in 1..<layout.tensors.count {
            let range = layout.range(at: i)
            tensors.append(SparseWeights.Tensor(rows: nil, values: range.map { model.parameters.values[$0] - denseAnchor.pointer[$0] }))
        }
        return SparseWeights(layout: layout, tensors: tensors)
    }

    /// One Adam step on the mean loss of the batch; returns the batch's summed loss.
    private func trainBatch(_ batch: ArraySlice<Int32>, _ roles: UnsafeBufferPointer<ExampleRole>, _ data: ExampleSet) -> Double {
        let threads = pool.threads, workers = workers, optimizer = optimizer, pool = pool, rowMoments = rowMoments
        let dense = dense, denseChunks = denseChunks, width = width, historyLength = model.config.historyLength
        let touched = touched, batchCapacity = touched.batchCapacity
        let mu = config.proximalMu
        let scale = 1 / Float(batch.count)
        let gradients = workers.map(\.gradient.pointer)
        let candidateLocals = touched.owners.map { UnsafePointer($0.candidateLocal) }
        let historyLocals = touched.owners.map { UnsafePointer($0.historyLocal) }
        let batchNumber = touched.beginBatch()
        var losses = [Double](repeating: 0, count: threads)
        data.withColumns { columns in
            batch.withUnsafeBufferPointer { indices in
                model.parameters.values.withUnsafeMutableBufferPointer { buffer in
                    let p = buffer.baseAddress!
                    if hugePagesAdvised != p {
                        adviseHugePages(p, bytes: buffer.count * 4)
                        hugePagesAdvised = p
                    }
                    // Each worker lists the rows it owns and brings them up to date (a row read
                    // before it caught up would give another gradient than dense Adam's); then
                    // each computes its slice's gradient.
                    let stepsDone = optimizer.step
                    let rowProximal = mu > 0 ? (anchor: UnsafePointer(touched.originals.pointer), mu: mu) : nil
                    pool.run { t in
                        let owner = touched.owners[t]
                        owner.collect(indices, columns, table: p, batchNumber: batchNumber, in: touched)
                        optimizer.catchUp(
                            rows: owner.batch, slots: owner.batchSlots, width: width, table: p, moments: rowMoments, through: stepsDone,
                            proximal: rowProximal)
                    }
                    losses.withUnsafeMutableBufferPointer { lossOut in
                        candidateLocals.withUnsafeBufferPointer { candidateLocals in
                            historyLocals.withUnsafeBufferPointer { historyLocals in
                                pool.run { t in
                                    let worker = workers[t]
                                    // Table rows were zeroed by the last step; the dense part is zeroed here, on this core.
                                    zero(worker.gradient.pointer + dense.lowerBound, dense.count)
                                    let work = BatchWork(
                                        parameters: p, columns: columns, indices: indices, candidateLocals: candidateLocals,
                                        ownership: touched.ownership,
                                        historyLocals: historyLocals, historyLength: historyLength, threads: threads, scale: scale,
                                        roles: roles)
                                    lossOut[t] = work.run(slice: t, kernel: worker.kernel, gradient: worker.gradient.pointer, worker: worker)
                                }
                            }
                        }
                    }
                    let step = optimizer.beginStep()
                    let denseProximal = mu > 0 ? (anchor: UnsafePointer(denseAnchor.pointer), mu: mu) : nil
                    pool.run { t in
                        // Each worker steps the rows it owns, from every worker's gradient rows for them.
                        let owner = touched.owners[t]
                        optimizer.update(
                            rows: owner.batch, slots: owner.batchSlots, width: width, table: p, moments: rowMoments,
                            summing: workers.map { $0.tableGradient.pointer + t * batchCapacity * width }, step: step, proximal: rowProximal)
                        optimizer.update(denseChunks[t], summing: gradients, parameters: p, step: step, proximal: denseProximal)
                    }
                }
            }
        }
        return losses.reduce(0, +)
    }
}

/// The per-batch inputs every worker reads.
private struct BatchWork {
    let parameters: UnsafePointer<Float>
    let columns: ExampleColumns
    let indices: UnsafeBufferPointer<Int32>
    /// By owner, by batch position: the batch-local gradient rows of the candidate and of
    /// the history items that owner owns.
    let candidateLocals: UnsafeBufferPointer<UnsafePointer<Int32>>
    let ownership: RowOwnership
    let historyLocals: UnsafeBufferPointer<UnsafePointer<Int32>>
    let historyLength: Int
    let threads: Int
    let scale: Float
    /// By batch position: what the example trains.
    let roles: UnsafeBufferPointer<ExampleRole>

    /// Accumulates the gradient of worker `slice`'s share of the batch: the dense tensors'
    /// into `gradient`, the item table's into the worker's batch-local table rows.
    func run(slice: Int, kernel: ExampleKernel, gradient: UnsafeMutablePointer<Float>, worker: LocalTrainer.WorkerBuffers) -> Double {
        let lo = indices.count * slice / threads
        let hi = indices.count * (slice + 1) / threads
        let historyRows = worker.historyRows
        kernel.prepare(parameters)
        var loss = 0.0
        for j in lo..<hi {
            let i = Int(indices[j])
            let candidate = columns.candidates[i]
            let (start, length) = kernel.historyRange(columns, i)
            for l in 0..<length {
                let row = columns.historyItems[start + l]
                historyRows[l] = historyLocals[ownership.owner(of: row)][j * historyLength + l]
            }
            let rows = TableGradientRows(
                table: worker.tableGradient.pointer, candidate: candidateLocals[ownership.owner(of: candidate)][j], history: historyRows)
            loss += Double(kernel.accumulateGradient(parameters, gradient, columns, i, scale: scale, role: roles[j], tableRows: rows))
        }
        kernel.flush(parameters, gradient)
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
