public import FedAttnCore

/// Trains an AttentionModel with example-level DP-SGD (see `DPSGDConfig`), on one thread.
///
/// How the item table is handled: DP-SGD must add noise to every parameter at every step,
/// rows no sampled example touched included, which for a table of V rows is O(V) per step
/// and leaves no row unchanged. The table takes plain SGD steps on the noisy sum, which are linear, so the
/// noise of the steps a row sat out is one Gaussian draw of variance k sigma^2 C^2 for k
/// steps: it is added when a sampled example next reads the row, and to every row at the end
/// of an epoch. The model that results has exactly the distribution of dense DP-SGD's (the
/// accounting is unchanged), while a step costs the rows its batch reads, not the table (the
/// lazy noise of McMahan et al., ICLR 2018, section 4, applied per row). What it cannot keep
/// sparse is the update: every row moved, so the upload is the whole table. (Keeping the
/// upload sparse needs DP selection of the rows trained, as in Ghazi et al., "Sparsity-
/// Preserving Differentially Private Training of Large Embedding Models", NeurIPS 2023: not
/// built.) The other tensors, about 10k floats, take Adam steps from the noisy gradient
/// (post-processing, which costs no privacy). FedProx's term, data-independent, is applied
/// to those tensors and not to the table.
///
/// Per-example clipping uses the kernel's one-example gradient: each sampled example's
/// gradient goes into scratch (its item rows compactly), its norm is taken over all of it,
/// and it is added to the batch's sum scaled by min(1, C / norm).
public final class PrivateTrainer: EpochTrainer {
    /// The model; after `trainEpoch` returns, as of the last finished epoch.
    public private(set) var model: AttentionModel
    public let config: TrainingConfig
    public let privacy: DPSGDConfig
    /// The model as training found it: the base of `delta()`, FedProx's anchor.
    private let start: AttentionModel
    private var noise: GaussianNoise
    private let kernel: ExampleKernel
    private let optimizer: Adam
    private let tableRows: Int, width: Int
    private let dense: Range<Int>
    /// One example's gradient: the dense tensors where they sit in the parameters.
    private let exampleGradient: ZeroedBuffer<Float>
    /// One example's item rows: their ids, their gradients (compact), and where each
    /// history position's row sits among them.
    private var exampleRows: [Int32] = []
    private let exampleRowGradients: UnsafeMutablePointer<Float>
    private let historyLocal: UnsafeMutablePointer<Int32>
    /// The batch's sum of clipped gradients: the dense tensors in place, the rows compactly
    /// (slot s of `batchRowGradients` is row `batchRows[s]`; `slotOf[row]` is s + 1, 0 if none).
    private let batchGradient: ZeroedBuffer<Float>
    private var batchRows: [Int32] = []
    private let batchRowGradients: ZeroedBuffer<Float>
    private let slotOf: ZeroedBuffer<Int32>
    /// The step through which each row's noise has been added.
    private let noisedThrough: ZeroedBuffer<Int32>
    private var step: Int32 = 0
    /// The sampled units (groups: a labelled row and its negatives) of the current step.
    private var batch: [Int32] = []
    /// Draws the negatives: secret, as the noise is (see init).
    private var negativeGenerator: SeededGenerator
    /// The expected batch, q N = min(B, N): what a step's sum is divided by.
    private var expectedBatch = 1
    private var epochsDone = 0

    /// - Precondition: `privacy.validate()` passes.
    public init(model: AttentionModel, config: TrainingConfig, privacy: DPSGDConfig) {
        self.model = model
        self.start = model
        self.config = config
        self.privacy = privacy
        noise = privacy.seed.map { GaussianNoise(seed: $0) } ?? GaussianNoise()
        // Each example's gradient whole, to be clipped on its own.
        kernel = ExampleKernel(config: model.config, offsets: TensorOffsets(model.parameters.layout), mode: .perExample)
        optimizer = Adam(parameterCount: model.parameterCount, learningRate: config.learningRate)
        let items = model.parameters.layout.tensors[0]
        precondition(items.name == AttentionModel.TensorName.items, "The item table must come first in the layout.")
        (tableRows, width) = (items.shape[0], items.shape[1])
        dense = items.elementCount..<model.parameterCount
        exampleGradient = ZeroedBuffer(count: model.parameterCount)
        // One unit's rows: its history, its candidate and its negatives.
        let rowsPerExample = model.config.historyLength + 1 + config.negatives.count
        exampleRowGradients = .allocate(capacity: rowsPerExample * width)
        // Seeded like the noise: from the system's generator unless a test fixes it. A public
        // seed (the plan's) would let whoever knows it replay every unit's draws, and the draws
        // of later units shift with the rows before them.
        negativeGenerator = privacy.seed.map { SeededGenerator(seed: $0 ^ 0x4E45_4741_5449_5645) } ?? SeededGenerator.fromSystemRandom()
        historyLocal = .allocate(capacity: max(1, model.config.historyLength))
        batchGradient = ZeroedBuffer(count: model.parameterCount)
        batchRowGradients = ZeroedBuffer(count: tableRows * width)
        slotOf = ZeroedBuffer(count: tableRows)
        noisedThrough = ZeroedBuffer(count: tableRows)
    }

    deinit {
        exampleRowGradients.deallocate()
        historyLocal.deallocate()
    }

    /// round(examples / batchSize) Poisson-sampled steps over `data` (see `DPSGDConfig`).
    /// `progress` hears the examples sampled so far.
    @discardableResult
    public func trainEpoch(on data: ExampleSet, progress: ((Int) -> Void)? = nil) -> EpochReport {
        precondition(!data.isEmpty, "Cannot train on an empty example set.")
        data.requireFits(model.config)
        let clock = ContinuousClock.now
        // The unit of privacy is a labelled row with its negatives, drawn without reading
        // any other row (`NegativeSampler`'s private draws): sampled, clipped and counted as one.
        let grouped =
            config.negatives.count > 0
            ? NegativeSampler(config.negatives, data: data, tableRows: tableRows, privateDraws: true).expand(data, using: &negativeGenerator)
            : GroupedExamples(ungrouped: data)
        let rate = DPSGDConfig.samplingRate(batchSize: config.batchSize, examples: data.count)
        let steps = DPSGDConfig.stepsPerEpoch(batchSize: config.batchSize, examples: data.count)
        let sampler = PoissonSampler(count: data.count, rate: rate)
        expectedBatch = min(config.batchSize, data.count)
        var totalLoss = 0.0, sampled = 0, examplesSampled = 0
        grouped.examples.withColumns { columns in
            grouped.groupStarts.withUnsafeBufferPointer { starts in
                for s in 1...steps {
                    sampler.sample(into: &batch, using: &noise)
                    totalLoss += trainStep(columns, groups: starts)
                    sampled += batch.count
                    examplesSampled += batch.reduce(0) { $0 + Int(starts[Int($1) + 1] - starts[Int($1)]) }
                    if let progress, s % 50 == 0 || s == steps { progress(sampled) }
                }
            }
        }
        addPendingNoise()
        epochsDone += 1
        return EpochReport(
            epoch: epochsDone, examples: examplesSampled, meanLoss: totalLoss / Double(max(1, examplesSampled)),
            seconds: (ContinuousClock.now - clock).seconds)
    }

    /// How far training has moved the model: every row of the item table that changed (all
    /// of them once noise was added), every other tensor whole.
    public func delta() -> SparseWeights {
        SparseWeights(model.parameters.subtracting(start.parameters), sparseTensors: [AttentionModel.TensorName.items])
    }

    /// The model as the trainer was given it.
    public func restoreStart() -> AttentionModel { start }

    /// The standard deviation of one row value's noise per step: SGD's step times sigma C.
    private var rowNoisePerStep: Float {
        privacy.rowLearningRate * privacy.noiseMultiplier * privacy.clipNorm
    }

    /// One DP-SGD step on the sampled `batch` (units: a labelled row and its negatives,
    /// `groups[u]..<groups[u + 1]`); returns the batch's summed loss.
    private func trainStep(_ columns: ExampleColumns, groups: UnsafeBufferPointer<Int32>) -> Double {
        step += 1
        let d = width, clip = privacy.clipNorm
        let g = exampleGradient.pointer, sum = batchGradient.pointer
        let rowSums = batchRowGradients.pointer, slots = slotOf.pointer
        var loss = 0.0
        model.parameters.values.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            // Rows the batch reads must hold the noise of every earlier step first.
            for unit in batch {
                for i in Int(groups[Int(unit)])..<Int(groups[Int(unit) + 1]) {
                    let (start, length) = kernel.historyRange(columns, i)
                    catchUp(row: columns.candidates[i], through: step - 1, p)
                    for l in 0..<length { catchUp(row: columns.historyItems[start + l], through: step - 1, p) }
                }
            }
            kernel.prepare(p)
            for unit in batch {
                let examples = Int(groups[Int(unit)])..<Int(groups[Int(unit) + 1])
                // The unit's rows, compactly: its history's, then each candidate's.
                let (start, length) = kernel.historyRange(columns, examples.lowerBound)
                exampleRows.removeAll(keepingCapacity: true)
                for l in 0..<length { historyLocal[l] = localRow(columns.historyItems[start + l]) }
                for example in examples { _ = localRow(columns.candidates[example]) }
                zero(exampleRowGradients, exampleRows.count * d)
                for example in examples {
                    let candidateLocal = localRow(columns.candidates[example])
                    let target = TableGradientRows(table: exampleRowGradients, candidate: candidateLocal, history: historyLocal)
                    let role = ExampleRole.of(member: example - examples.lowerBound, ranked: config.negatives.count > 0)
                    loss += Double(kernel.accumulateGradient(p, g, columns, example, scale: 1, role: role, tableRows: target))
                }
                let norm = (sumOfSquares(g + dense.lowerBound, dense.count) + sumOfSquares(exampleRowGradients, exampleRows.count * d))
                    .squareRoot()
                // A non-finite gradient counts for nothing (min(1, C / NaN) would let it through whole).
                let factor = norm.isFinite ? min(1, clip / norm) : 0
                addScaledAndClear(factor, g + dense.lowerBound, sum + dense.lowerBound, dense.count)
                for (k, row) in exampleRows.enumerated() {
                    var slot = slots[Int(row)]
                    if slot == 0 {
                        batchRows.append(row)
                        slot = Int32(batchRows.count)
                        slots[Int(row)] = slot
                    }
                    axpy(factor, exampleRowGradients + k * d, rowSums + Int(slot - 1) * d, d)
                }
            }
            stepDense(p)
            stepRows(p)
        }
        return loss
    }

    /// The local index of `row` among the current example's rows, adding it if new.
    @inline(__always) private func localRow(_ row: Int32) -> Int32 {
        if let k = exampleRows.firstIndex(of: row) { return Int32(k) }
        exampleRows.append(row)
        return Int32(exampleRows.count - 1)
    }

    /// Dense tensors: Adam on (sum + N(0, sigma^2 C^2)) / B, plus FedProx's term.
    private func stepDense(_ p: UnsafeMutablePointer<Float>) {
        let sum = batchGradient.pointer, scale = 1 / Float(expectedBatch)
        let deviation = privacy.noiseMultiplier * privacy.clipNorm
        let mu = config.proximalMu
        start.parameters.values.withUnsafeBufferPointer { anchor in
            for k in dense {
                var gradient = sum[k]
                if deviation > 0 { gradient += deviation * noise.next() }
                gradient *= scale
                if mu > 0 { gradient += mu * (p[k] - anchor[k]) }
                sum[k] = gradient
            }
        }
        optimizer.update(dense, gradient: sum, parameters: p, step: optimizer.beginStep())
        zero(sum + dense.lowerBound, dense.count)
    }

    /// Item rows the batch read: SGD on their clipped sum (`DPSGDConfig.rowLearningRate`).
    /// This step's noise for them is left to the next catch-up, with the steps they sit out
    /// after it.
    private func stepRows(_ p: UnsafeMutablePointer<Float>) {
        let d = width, rowSums = batchRowGradients.pointer, slots = slotOf.pointer
        let rate = -privacy.rowLearningRate
        for (s, row) in batchRows.enumerated() {
            axpy(rate, rowSums + s * d, p + Int(row) * d, d)
            zero(rowSums + s * d, d)
            slots[Int(row)] = 0
        }
        batchRows.removeAll(keepingCapacity: true)
    }

    /// Adds to `row` the noise of steps noisedThrough[row] + 1 ... `through`: for k steps,
    /// one draw of k times the per-step variance. Row 0 (padding) never moves.
    @inline(__always) private func catchUp(row: Int32, through: Int32, _ p: UnsafeMutablePointer<Float>) {
        let r = Int(row), pending = through - noisedThrough.pointer[r]
        guard pending > 0, r != 0 else { return }
        noisedThrough.pointer[r] = through
        let deviation = rowNoisePerStep * Float(pending).squareRoot()
        guard deviation > 0 else { return }
        noise.add(scale: -deviation, to: p + r * width, count: width)
    }

    /// Brings every row's noise up to the last step: O(table), once an epoch.
    private func addPendingNoise() {
        let through = step
        model.parameters.values.withUnsafeMutableBufferPointer { buffer in
            for row in 1..<tableRows { catchUp(row: Int32(row), through: through, buffer.baseAddress!) }
        }
    }
}
