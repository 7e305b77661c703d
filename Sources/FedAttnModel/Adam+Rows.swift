import FedAttnCore

// Embedding tables step lazily: a step reads and writes only the rows its batch touched, so
// it costs the same on a 4M-row table as on a 2k-row one. Lazy alone (TensorFlow Addons'
// LazyAdam, PyTorch's SparseAdam) is not dense Adam: there an untouched row keeps moving
// while its first moment decays (alpha_t m / (sqrt(v) + epsilon), m shrinking by beta1 a
// step), about ten times its last step in all, and that carry is most of what a rarely
// seen item learns. On MovieLens federated (1 local epoch a round) pure lazy steps cost
// 0.005 AUC. So a row that sat out steps first catches up on them when it is next touched
// (and when an epoch ends): its moments decay, momentum carries it, FedProx pulls it, step
// by step with each missed step's alpha_t, exactly as dense Adam would have moved it.
// Without FedProx, after `catchUpLimit` steps the carry is below 1e-4 of one step and only
// the moments' decay is applied; with FedProx every missed step is replayed (its pull does
// not die out). The cost is the rows touched times the steps they missed, never the table.

extension Adam {
    /// Missed steps replayed one by one without FedProx; beyond them a row's moments just
    /// decay. The carry after j missed steps is about (beta1 / sqrt(beta2))^j of the first:
    /// 4e-5 at 96. (With FedProx all are replayed.)
    public static let catchUpLimit = 96

    /// A step for some rows of an embedding table: row `rows[k]` of `table` (rows `width`
    /// floats wide) first catches up on the steps it missed, then is stepped from the sum
    /// of row k of each buffer in `gradients`, which is then zeroed. Its moments are row
    /// `slots[k]` of `moments`. With `proximal`, FedProx adds mu (p - anchor) to the
    /// gradient, the anchor being row `slots[k]` of `proximal.anchor` (the row as training
    /// found it). Rows given to concurrent calls must not overlap.
    /// - Precondition: `width` is `moments.width`, a multiple of 8.
    public func update(
        rows: UnsafeBufferPointer<Int32>, slots: UnsafeBufferPointer<Int32>, width: Int, table: UnsafeMutablePointer<Float>,
        moments: RowMoments, summing gradients: [UnsafeMutablePointer<Float>], step: Step,
        proximal: (anchor: UnsafePointer<Float>, mu: Float)? = nil
    ) {
        precondition(width == moments.width && width % 8 == 0, "Rows are \(moments.width) floats (a multiple of 8), not \(width).")
        let mu = Vec8(repeating: proximal?.mu ?? 0)
        for k in 0..<rows.count {
            let slot = Int(slots[k])
            precondition(slot < moments.rows, "Slot \(slot) is past the \(moments.rows) rows of moments.")
            let p = table + Int(rows[k]) * width, state = slot * width
            let anchor = proximal.map { $0.anchor + state }
            catchUp(
                p, moments.m.pointer + state, moments.v.pointer + state, width: width, after: Int(moments.lastStep.pointer[slot]),
                through: step.number - 1, anchor: anchor, mu: mu)
            var j = 0
            while j < width {
                let at = k * width + j
                var g = load8(gradients[0] + at)
                store8(Vec8(), gradients[0] + at)
                for other in gradients.dropFirst() {
                    g += load8(other + at)
                    store8(Vec8(), other + at)
                }
                if let anchor { g += mu * (load8(p + j) - load8(anchor + j)) }
                adam8(p + j, moments.m.pointer + state + j, moments.v.pointer + state + j, g, step.alpha)
                j += 8
            }
            moments.lastStep.pointer[slot] = UInt32(step.number)
        }
    }

    /// Brings rows up to date through step `through`: each replays the steps it missed,
    /// with no gradient but FedProx's. `rows[k]` has its moments (and anchor) at slot `slots[k]`.
    public func catchUp(
        rows: UnsafeBufferPointer<Int32>, slots: UnsafeBufferPointer<Int32>, width: Int, table: UnsafeMutablePointer<Float>,
        moments: RowMoments, through: Int, proximal: (anchor: UnsafePointer<Float>, mu: Float)? = nil
    ) {
        precondition(width == moments.width && width % 8 == 0, "Rows are \(moments.width) floats (a multiple of 8), not \(width).")
        let mu = Vec8(repeating: proximal?.mu ?? 0)
        for k in 0..<rows.count {
            let slot = Int(slots[k]), state = slot * width
            precondition(slot < moments.rows, "Slot \(slot) is past the \(moments.rows) rows of moments.")
            let last = Int(moments.lastStep.pointer[slot])
            guard last > 0, last < through else { continue }
            catchUp(
                table + Int(rows[k]) * width, moments.m.pointer + state, moments.v.pointer + state, width: width, after: last,
                through: through, anchor: proximal.map { $0.anchor + state }, mu: mu)
            moments.lastStep.pointer[slot] = UInt32(through)
        }
    }

    /// Replays steps `after + 1 ... through` on one row with no gradient but FedProx's. A
    /// row never stepped (`after` 0) has zero moments and sits at its anchor: nothing moves.
    @inline(__always) private func catchUp(
        _ p: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, width: Int,
        after last: Int, through: Int, anchor: UnsafePointer<Float>?, mu: Vec8
    ) {
        guard last > 0, through > last else { return }
        // With FedProx the pull toward the anchor keeps a row moving (its m / sqrt(v) stays
        // near 1 while v decays): every missed step is replayed, at most what dense Adam
        // would have spent on the row. Without it the carry dies out: the limit applies.
        let replayed = anchor == nil ? min(through - last, Self.catchUpLimit) : through - last
        let decayed = through - last - replayed
        let b1 = Vec8(repeating: beta1), b2 = Vec8(repeating: beta2), c1 = Vec8(repeating: 1 - beta1), c2 = Vec8(repeating: 1 - beta2)
        let eps = Vec8(repeating: epsilon)
        let decay1 = Vec8(repeating: decayed == 0 ? 1 : Float(_pow(Double(beta1), Double(decayed))))
        let decay2 = Vec8(repeating: decayed == 0 ? 1 : Float(_pow(Double(beta2), Double(decayed))))
        var j = 0
        while j < width {
            var pj = load8(p + j), mj = load8(m + j), vj = load8(v + j)
            for t in (last + 1)...(last + replayed) {
                if let anchor {
                    let g = mu * (pj - load8(anchor + j))
                    mj = b1 * mj + c1 * g
                    vj = b2 * vj + c2 * g * g
                } else {
                    mj = b1 * mj
                    vj = b2 * vj
                }
                pj -= Vec8(repeating: alphas[t - 1]) * mj / (vj.squareRoot() + eps)
            }
            store8(pj, p + j)
            store8(mj * decay1, m + j)
            store8(vj * decay2, v + j)
            j += 8
        }
    }
}

/// Adam's moments for the rows of an embedding table, by slot (the order rows were first
/// touched), so the rows in use sit together and the rest cost no memory; and the step
/// each row was last brought to.
public final class RowMoments {
    /// Floats in a row.
    public let width: Int
    /// Rows there is room for.
    public let rows: Int
    let m: ZeroedBuffer<Float>
    let v: ZeroedBuffer<Float>
    let lastStep: ZeroedBuffer<UInt32>

    /// Room for `rows` rows of `width` floats, all zero.
    public init(rows: Int, width: Int) {
        self.width = width
        self.rows = rows
        m = ZeroedBuffer(count: rows * width)
        v = ZeroedBuffer(count: rows * width)
        lastStep = ZeroedBuffer(count: rows)
    }
}
