// One example's forward pass, and its backward pass into a gradient buffer: the layers of
// Layers/ chained in order, then in reverse.

/// Raw views of an ExampleSet's columns, valid inside `ExampleSet.withColumns`.
struct ExampleColumns {
    let candidates: UnsafePointer<Int32>
    let strategies: UnsafePointer<Int32>
    let labels: UnsafePointer<Float>
    let historyStarts: UnsafePointer<Int32>
    let historyEnds: UnsafePointer<Int32>
    let historyItems: UnsafePointer<Int32>
}

extension ExampleSet {
    func withColumns<R>(_ body: (ExampleColumns) throws -> R) rethrows -> R {
        // An empty history column still needs a valid pointer.
        let items = historyItems.isEmpty ? [0] : historyItems
        return try candidates.withUnsafeBufferPointer { c in
            try strategies.withUnsafeBufferPointer { s in
                try labels.withUnsafeBufferPointer { l in
                    try historyStarts.withUnsafeBufferPointer { hs in
                        try historyEnds.withUnsafeBufferPointer { he in
                            try items.withUnsafeBufferPointer { hi in
                                try body(
                                    ExampleColumns(
                                        candidates: c.baseAddress!, strategies: s.baseAddress!, labels: l.baseAddress!,
                                        historyStarts: hs.baseAddress!, historyEnds: he.baseAddress!, historyItems: hi.baseAddress!))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What an example trains. Training to rank (`NegativeSampling`) factorises as ESMM does
/// (Ma et al., "Entire Space Multi-Task Model", SIGIR 2018): an interaction head learns
/// P(interacted) over labelled rows (1) and sampled negatives (0), the click head learns
/// P(click | interacted) over the labelled rows alone, and items are ranked by their product
/// (`AttentionModel.rankingScores`). The click head thus keeps predicting clicks among shown
/// items while the catalogue is ranked: trained on one head, sampled negatives cost 0.04 of
/// test AUC on MovieLens (docs/ranking.md).
public enum ExampleRole: Sendable, Equatable {
    /// A labelled row, the click head alone (training without negatives).
    case labelled
    /// A labelled row: the click head on its label, the interaction head on 1.
    case rankedLabelled
    /// A sampled negative: the interaction head on 0, no click loss.
    case sampledNegative

    /// The role of a group's `member`-th example (`GroupedExamples`: the labelled row, then
    /// its negatives) when training `ranked` (with negatives) or not.
    static func of(member: Int, ranked: Bool) -> ExampleRole {
        member > 0 ? .sampledNegative : ranked ? .rankedLabelled : .labelled
    }
}

/// Where one example's item-table gradient goes: row `candidate` of `table` for the
/// candidate, rows `history[0..<length]` for its (latest) history items.
struct TableGradientRows {
    let table: UnsafeMutablePointer<Float>
    let candidate: Int32
    let history: UnsafePointer<Int32>
}

/// Scratch memory for one thread running the kernel; reused for every example.
///
/// Before a run of `forward` or `accumulateGradient` calls, `prepare` computes what the
/// examples share from the parameters as they are (`PreparedWeights`); call it again after
/// every change to them (each optimiser step). In `.summed` mode the gradient terms of the
/// shared weights are summed over the run and added by `flush`, which must follow the last
/// `accumulateGradient` before the gradient is read.
final class ExampleKernel {
    /// How `accumulateGradient` adds the gradient of the weights every example shares.
    enum GradientMode {
        /// Summed over the run and added into the gradient once, by `flush`: a batch's sum.
        case summed
        /// Whole after each call: a per-example gradient (DP-SGD clips each one).
        case perExample
    }

    let d: Int, hidden: Int, historyLength: Int
    let offsets: TensorOffsets
    let mode: GradientMode
    private let prepared: PreparedWeights
    private let scratch: UnsafeMutablePointer<Float>
    private let u, x, z, dx, du, dCandidate: UnsafeMutablePointer<Float>
    private let cache: AttentionCache
    private let attentionScratch: AttentionScratch

    init(config: ModelConfig, offsets: TensorOffsets, mode: GradientMode) {
        self.mode = mode
        prepared = PreparedWeights(config: config, summed: mode == .summed)
        d = config.dim
        hidden = config.hidden
        historyLength = config.historyLength
        let historyCapacity = max(historyLength, 1)  // buffers are never empty
        self.offsets = offsets
        let sizes = [d, 4 * d, hidden, 4 * d, d, d, d, d, historyCapacity, d, d, historyCapacity]
        scratch = .allocate(capacity: sizes.reduce(0, +))
        scratch.initialize(repeating: 0, count: sizes.reduce(0, +))
        var next = scratch
        func take(_ n: Int) -> UnsafeMutablePointer<Float> {
            defer { next += n }
            return next
        }
        u = take(d); x = take(4 * d); z = take(hidden); dx = take(4 * d); du = take(d); dCandidate = take(d)
        cache = AttentionCache(q: take(d), r: take(d), weights: take(historyCapacity))
        attentionScratch = AttentionScratch(dr: take(d), dq: take(d), dScores: take(historyCapacity))
    }

    deinit { scratch.deallocate() }

    /// Computes what every example shares from the parameters `p` as they are now.
    func prepare(_ p: UnsafePointer<Float>) { prepared.prepare(p, offsets) }

    /// Adds the summed gradient terms of the shared weights into `g` (`.summed` mode; in
    /// `.perExample` mode there are none). `p` must be the parameters `prepare` saw.
    func flush(_ p: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>) {
        if mode == .summed { prepared.flush(p, g, offsets) }
    }

    /// The last forward pass's attention weights (valid for its history's length).
    var attentionWeights: [Float] { Array(UnsafeBufferPointer(start: cache.weights, count: historyLength)) }
    /// The last forward pass's pooled history u.
    var pooledHistory: [Float] { Array(UnsafeBufferPointer(start: u, count: d)) }

    /// Where example `i`'s history starts and how long it is: at most the latest
    /// `historyLength` items, which is all the scratch memory holds.
    @inline(__always) func historyRange(_ columns: ExampleColumns, _ i: Int) -> (start: Int, length: Int) {
        let end = Int(columns.historyEnds[i])
        let length = min(end - Int(columns.historyStarts[i]), historyLength)
        return (end - length, length)
    }

    /// The interaction logit o_i of the last forward pass.
    @inline(__always) func interactionLogit(_ p: UnsafePointer<Float>) -> Float {
        dot(p + offsets.interactionWeight, z, hidden) + p[offsets.interactionBias]
    }

    /// The ranking score of example `i`: log P(interacted) + log P(click | interacted) =
    /// -softplus(-o_i) - softplus(-o) (see `ExampleRole`).
    @inline(__always) func rankingScore(_ p: UnsafePointer<Float>, _ columns: ExampleColumns, _ i: Int) -> Float {
        let o = forward(p, columns, i)
        let oi = interactionLogit(p)
        // -softplus(-o) = -BCE(o, 1)
        return -sigmoidBCEForward(logit: o, label: 1) - sigmoidBCEForward(logit: oi, label: 1)
    }

    /// The strategy slot (`PreparedWeights`) of the last forward pass.
    private var strategySlot = 0

    /// The logit of example `i`; leaves the activations its backward pass needs in scratch.
    @inline(__always) func forward(_ p: UnsafePointer<Float>, _ columns: ExampleColumns, _ i: Int) -> Float {
        let o = offsets
        let (start, length) = historyRange(columns, i)
        let ec = p + o.items + Int(columns.candidates[i]) * d
        let strategy = columns.strategies[i]
        attentionForward(
            candidate: ec, history: columns.historyItems + start, length: length, table: p + o.items,
            query: p + o.query, key: p + o.key, productTransposed: prepared.usesProduct ? prepared.productTransposed : nil, d: d,
            cache: cache, u: u)
        // x = [u, e_c, u * e_c, e_s]; e_s's share of W_1 x is prepared once a batch
        copy(u, x, d)
        copy(ec, x + d, d)
        multiply(u, ec, x + 2 * d, d)
        // e_s is read back only when this example's dW_s is taken whole (per-example mode)
        if mode == .perExample { copy(p + o.strategies + Int(strategy) * d, x + 3 * d, d) }
        strategySlot = prepared.slot(of: strategy, p, o)
        return denseForward(
            x: x, inputs: 3 * d, hidden: hidden, start: prepared.strategyHidden(strategySlot), w1Transposed: prepared.hiddenTransposed,
            w2: p + o.outputWeight, b2: p[o.outputBias], z: z)
    }

    /// Where the attention's W_k^T W_q gradient goes in this mode.
    private var gradientRoute: QueryKeyGradient {
        guard prepared.usesProduct else { return .weights(qComputed: true) }
        return mode == .summed
            ? .product(a: prepared.product, dA: prepared.productGradient) : .weights(qComputed: false)
    }

    /// Runs example `i` forward and backward, adds `scale` times its loss gradient into `g`,
    /// and returns its (unscaled) loss: the click head's binary cross-entropy and, as `role`
    /// says, the interaction head's. The item table's gradient rows go into `g`'s item
    /// table at the rows' own ids, or, given `tableRows`, where it says (a batch's compact
    /// gradient rows).
    @inline(__always) func accumulateGradient(
        _ p: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ columns: ExampleColumns, _ i: Int, scale: Float,
        role: ExampleRole = .labelled, tableRows: TableGradientRows? = nil
    ) -> Float {
        let o = offsets
        let logit = forward(p, columns, i)
        var loss: Float = 0, dLogit: Float = 0, dInteraction: Float = 0
        if role != .sampledNegative {
            let label = columns.labels[i]
            loss = sigmoidBCEForward(logit: logit, label: label)
            dLogit = sigmoidBCEBackward(logit: logit, label: label) * scale
        }
        if role != .labelled {
            let interaction = interactionLogit(p), target: Float = role == .sampledNegative ? 0 : 1
            loss += sigmoidBCEForward(logit: interaction, label: target)
            dInteraction = sigmoidBCEBackward(logit: interaction, label: target) * scale
        }

        denseBackward(
            dLogit: dLogit, dInteraction: dInteraction, x: x, z: z, inputs: 4 * d, hidden: hidden, w1: p + o.hiddenWeight,
            w2: p + o.outputWeight, wi: p + o.interactionWeight, w1Grad: g + o.hiddenWeight, b1Grad: g + o.hiddenBias,
            w2Grad: g + o.outputWeight, b2Grad: g + o.outputBias, wiGrad: g + o.interactionWeight, biGrad: g + o.interactionBias,
            dx: dx, strategyDz: mode == .summed ? prepared.strategyDz(strategySlot) : nil)

        // x = [u, e_c, u * e_c, e_s]  ->  du = dx_u + dx_prod * e_c,  de_c = dx_c + dx_prod * u,  de_s = dx_s
        let ec = p + o.items + Int(columns.candidates[i]) * d
        copy(dx, du, d)
        addProduct(dx + 2 * d, ec, du, d)
        copy(dx + d, dCandidate, d)
        addProduct(dx + 2 * d, u, dCandidate, d)
        if mode == .perExample { add(dx + 3 * d, g + o.strategies + Int(columns.strategies[i]) * d, d) }

        let (start, length) = historyRange(columns, i)
        let rows = tableRows ?? TableGradientRows(table: g + o.items, candidate: columns.candidates[i], history: columns.historyItems + start)
        attentionBackward(
            du: du, candidate: ec, history: columns.historyItems + start, length: length, table: p + o.items,
            query: p + o.query, key: p + o.key, d: d, route: gradientRoute, cache: cache, scratch: attentionScratch,
            tableGrad: rows.table, gradientRows: rows.history, queryGrad: g + o.query, keyGrad: g + o.key, dCandidate: dCandidate)
        add(dCandidate, rows.table + Int(rows.candidate) * d, d)
        return loss
    }
}
