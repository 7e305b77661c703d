// What every example of a batch shares: products of weights computed once from the
// parameters (which a batch only reads), and the gradient terms linear in a shared weight,
// summed over the batch and turned into the weights' gradients once (`flush`).
//
// Shapes: W_q, W_k [d, d], W_1 [H, 4d] (its last d columns W_s meet the strategy row e_s).
//   A = W_k^T W_q [d, d], so the attention's r = W_k^T (W_q e_c) = A e_c: one d x d product
//     a candidate instead of two. With dA = sum over examples of dr e_c^T:
//     dW_q = W_k dA, dW_k = W_q dA^T (A_ij = sum_m W_k[m,i] W_q[m,j]).
//   h_s = b_1 + W_s e_s [H] for each strategy s the batch names: a quarter of W_1 x.
//     With dz_s = the summed dz of the examples of strategy s:
//     dW_s += dz_s e_s^T, de_s += W_s^T dz_s.
//   W_1^T [4d, H], so that W_1 x is a sum of rows scaled by x_j, kept in registers
//     (no horizontal sum per unit).

/// The per-batch products and summed gradient terms of one `ExampleKernel`.
final class PreparedWeights {
    let d: Int, hidden: Int
    /// Whether scores go through A = W_k^T W_q: when gradients are summed over a batch (with
    /// per-example gradients q is needed again backward, and nothing is saved) and d <= 128.
    /// Building A and turning dA into dW_q and dW_k cost about 3d^3 a batch against about 3d^2
    /// saved a candidate: at d = 128 a worker's share of a batch needs some 128 candidates to
    /// gain (bench's and the federations' batches hold 1,088 to 4,352).
    let usesProduct: Bool
    /// A [d, d] and A^T [d, d], valid after `prepare`.
    let product: UnsafeMutablePointer<Float>
    let productTransposed: UnsafeMutablePointer<Float>
    /// dA [d, d], summed until `flush`; and scratch of d x d.
    let productGradient: UnsafeMutablePointer<Float>
    private let square: UnsafeMutablePointer<Float>
    /// W_1^T [4d, H], valid after `prepare`.
    let hiddenTransposed: UnsafeMutablePointer<Float>
    /// By strategy: its slot below, or -1 when the batch has not named it yet.
    private let slotOf: UnsafeMutablePointer<Int32>
    private var slotStrategies: [Int32] = []
    /// By slot, H floats each: h_s, and the summed dz_s.
    private var strategyHidden: UnsafeMutablePointer<Float>
    private var strategyDz: UnsafeMutablePointer<Float>
    private var slotCapacity: Int

    /// The strategies whose h_s and summed dz this holds at most (`ModelConfig.strategies`).
    private let strategies: Int

    /// `summed`: whether the gradients of the shared weights are summed over a batch (and A
    /// is then worth building).
    init(config: ModelConfig, summed: Bool) {
        d = config.dim
        hidden = config.hidden
        strategies = config.strategies
        usesProduct = summed && d <= 128
        let square = usesProduct ? d * d : 0
        product = .allocate(capacity: max(square, 1))
        productTransposed = .allocate(capacity: max(square, 1))
        productGradient = .allocate(capacity: max(square, 1))
        productGradient.initialize(repeating: 0, count: max(square, 1))
        self.square = .allocate(capacity: max(square, 1))
        hiddenTransposed = .allocate(capacity: 4 * d * hidden)
        slotOf = .allocate(capacity: config.strategies)
        slotOf.initialize(repeating: -1, count: config.strategies)
        slotCapacity = min(config.strategies, 4)
        strategyHidden = .allocate(capacity: slotCapacity * hidden)
        strategyDz = .allocate(capacity: slotCapacity * hidden)
        strategyDz.initialize(repeating: 0, count: slotCapacity * hidden)
    }

    deinit {
        for buffer in [product, productTransposed, productGradient, square, hiddenTransposed, strategyHidden, strategyDz] {
            buffer.deallocate()
        }
        slotOf.deallocate()
    }

    /// Computes the products from the parameters `p` as they are now. Call it before a
    /// batch's first example, after `flush` of the last batch's sums (sums not flushed are
    /// dropped here, never carried into the next batch).
    func prepare(_ p: UnsafePointer<Float>, _ o: TensorOffsets) {
        transpose(p + o.hiddenWeight, rows: hidden, columns: 4 * d, hiddenTransposed)
        for s in slotStrategies { slotOf[Int(s)] = -1 }
        zero(strategyDz, slotStrategies.count * hidden)
        slotStrategies.removeAll(keepingCapacity: true)
        guard usesProduct else { return }
        zero(productGradient, d * d)
        // A[i, :] = sum_m W_k[m, i] W_q[m, :]: row i of W_k^T times W_q.
        transpose(p + o.key, rows: d, columns: d, square)
        zero(product, d * d)
        for i in 0..<d { addTransposedProduct(square + i * d, d, p + o.query, d, product + i * d) }
        transpose(product, rows: d, columns: d, productTransposed)
    }

    /// The slot of strategy `s` in this batch, computing h_s at its first use.
    @inline(__always) func slot(of s: Int32, _ p: UnsafePointer<Float>, _ o: TensorOffsets) -> Int {
        let known = slotOf[Int(s)]
        if known >= 0 { return Int(known) }
        let slot = slotStrategies.count
        if slot == slotCapacity { grow() }
        slotOf[Int(s)] = Int32(slot)
        slotStrategies.append(s)
        let h = strategyHidden + slot * hidden
        copy(p + o.hiddenBias, h, hidden)
        addTransposedProduct(p + o.strategies + Int(s) * d, d, hiddenTransposed + 3 * d * hidden, hidden, h)
        return slot
    }

    /// h_s = b_1 + W_s e_s of slot `slot` [H]; valid until the next new slot (which may move
    /// the buffer).
    @inline(__always) func strategyHidden(_ slot: Int) -> UnsafePointer<Float> { UnsafePointer(strategyHidden + slot * hidden) }
    /// The summed dz of slot `slot`'s examples [H].
    @inline(__always) func strategyDz(_ slot: Int) -> UnsafeMutablePointer<Float> { strategyDz + slot * hidden }

    /// Adds the summed terms into the gradient `g` (dW_q, dW_k from dA; dW_s and de_s from
    /// each strategy's dz) and clears them. `p` must be the parameters `prepare` saw.
    func flush(_ p: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ o: TensorOffsets) {
        let inputs = 4 * d
        for (slot, s) in slotStrategies.enumerated() {
            let dz = strategyDz + slot * hidden, es = p + o.strategies + Int(s) * d
            let strategyGradient = g + o.strategies + Int(s) * d
            for i in 0..<hidden where dz[i] != 0 {
                axpy(dz[i], es, g + o.hiddenWeight + i * inputs + 3 * d, d)
                axpy(dz[i], p + o.hiddenWeight + i * inputs + 3 * d, strategyGradient, d)
            }
            zero(dz, hidden)
        }
        guard usesProduct else { return }
        // dW_q[m, :] += sum_i W_k[m, i] dA[i, :];  dW_k[m, :] += sum_j W_q[m, j] dA^T[j, :]
        transpose(productGradient, rows: d, columns: d, square)
        for m in 0..<d {
            addTransposedProduct(p + o.key + m * d, d, productGradient, d, g + o.query + m * d)
            addTransposedProduct(p + o.query + m * d, d, square, d, g + o.key + m * d)
        }
        zero(productGradient, d * d)
    }

    private func grow() {
        let capacity = min(slotCapacity * 2, strategies)
        let hiddenBuffer = UnsafeMutablePointer<Float>.allocate(capacity: capacity * hidden)
        hiddenBuffer.initialize(from: strategyHidden, count: slotCapacity * hidden)
        let dzBuffer = UnsafeMutablePointer<Float>.allocate(capacity: capacity * hidden)
        dzBuffer.initialize(from: strategyDz, count: slotCapacity * hidden)
        (dzBuffer + slotCapacity * hidden).initialize(repeating: 0, count: (capacity - slotCapacity) * hidden)
        strategyHidden.deallocate()
        strategyDz.deallocate()
        (strategyHidden, strategyDz, slotCapacity) = (hiddenBuffer, dzBuffer, capacity)
    }
}
