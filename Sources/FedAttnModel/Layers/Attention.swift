import RealModule

// Masked scaled dot-product attention of a candidate over its history.
//
// Shapes: e_c [d], W_q [d, d], W_k [d, d], history rows e_l [d] for l in 0..<L, u [d].
// Forward:
//   q   = W_q e_c                       (q_i = W_q[i,:] . e_c)
//   r   = W_k^T q                       (so q . k_l = q . W_k e_l = r . e_l: one d x d product, not L)
//       = A e_c                         (with A = W_k^T W_q prepared once a batch: PreparedWeights)
//   s_l = (r . e_l) / sqrt(d)           for the L real positions only; padding is never scored
//   a   = softmax(s)
//   u   = sum_l a_l e_l                  (u = 0 when L = 0)

/// Buffers the attention pass keeps for its backward pass.
struct AttentionCache {
    var q: UnsafeMutablePointer<Float>  // [d]
    var r: UnsafeMutablePointer<Float>  // [d]
    var weights: UnsafeMutablePointer<Float>  // a [historyLength]
}

/// Computes u (written to `u`) from the candidate row and the history rows.
@inline(__always) func attentionForward(
    candidate ec: UnsafePointer<Float>, history: UnsafePointer<Int32>, length: Int,
    table: UnsafePointer<Float>, query wq: UnsafePointer<Float>, key wk: UnsafePointer<Float>,
    productTransposed: UnsafePointer<Float>?, d: Int, cache: AttentionCache, u: UnsafeMutablePointer<Float>
) {
    zero(u, d)
    guard length > 0 else { return }
    let q = cache.q, r = cache.r, a = cache.weights
    zero(r, d)
    if let productTransposed {
        // r = A e_c = sum_j e_c[j] A^T[j,:]  (q is left to the backward pass, which may not need it)
        addTransposedProduct(ec, d, productTransposed, d, r)
    } else {
        // q = W_q e_c;  r = W_k^T q = sum_i q_i W_k[i,:]
        for i in 0..<d { q[i] = dot(wq + i * d, ec, d) }
        addTransposedProduct(q, d, wk, d, r)
    }
    // s_l = r . e_l / sqrt(d); a = softmax(s) over the real positions
    let scale = 1 / Float(d).squareRoot()
    var maxScore = -Float.infinity
    for l in 0..<length {
        let s = dot(r, table + Int(history[l]) * d, d) * scale
        a[l] = s
        maxScore = max(maxScore, s)
    }
    var total: Float = 0
    for l in 0..<length {
        let e = Float.exp(a[l] - maxScore)
        a[l] = e
        total += e
    }
    let inverse = 1 / total
    // u = sum_l a_l e_l
    for l in 0..<length {
        a[l] *= inverse
        axpy(a[l], table + Int(history[l]) * d, u, d)
    }
}

/// Scratch the attention backward pass writes into.
struct AttentionScratch {
    var dr: UnsafeMutablePointer<Float>  // [d]
    var dq: UnsafeMutablePointer<Float>  // [d]
    var dScores: UnsafeMutablePointer<Float>  // [historyLength]
}

/// Where the gradient of r = W_k^T W_q e_c goes.
enum QueryKeyGradient {
    /// Into dW_q and dW_k at once; `qComputed` says whether the forward pass left q in the
    /// cache (it did not when it used A).
    case weights(qComputed: Bool)
    /// Into dA (summed over a batch, `PreparedWeights.flush`), the candidate's share through A.
    case product(a: UnsafePointer<Float>, dA: UnsafeMutablePointer<Float>)
}

/// Given du, accumulates gradients into the history rows of `tableGrad`, into dW_q and dW_k
/// (or dA, as `route` says), and adds the candidate's share into `dCandidate`. History
/// position l's gradient goes to row `gradientRows[l]` of `tableGrad` (the table's own row
/// ids for a whole-table gradient, or a batch's compact indices).
@inline(__always) func attentionBackward(
    du: UnsafePointer<Float>, candidate ec: UnsafePointer<Float>, history: UnsafePointer<Int32>, length: Int,
    table: UnsafePointer<Float>, query wq: UnsafePointer<Float>, key wk: UnsafePointer<Float>, d: Int,
    route: QueryKeyGradient, cache: AttentionCache, scratch: AttentionScratch,
    tableGrad: UnsafeMutablePointer<Float>, gradientRows: UnsafePointer<Int32>, queryGrad: UnsafeMutablePointer<Float>,
    keyGrad: UnsafeMutablePointer<Float>, dCandidate: UnsafeMutablePointer<Float>
) {
    guard length > 0 else { return }  // u = 0 is constant: nothing flows back
    let q = cache.q, r = cache.r, a = cache.weights
    let dr = scratch.dr, dq = scratch.dq, ds = scratch.dScores
    let scale = 1 / Float(d).squareRoot()
    // u = sum_l a_l e_l  ->  da_l = du . e_l,  de_l += a_l du
    var weightedSum: Float = 0
    for l in 0..<length {
        let da = dot(du, table + Int(history[l]) * d, d)
        ds[l] = da
        weightedSum += a[l] * da
        axpy(a[l], du, tableGrad + Int(gradientRows[l]) * d, d)
    }
    // a = softmax(s)  ->  ds_l = a_l (da_l - sum_m a_m da_m)
    // s_l = r . e_l * scale  ->  dr += ds_l scale e_l,  de_l += ds_l scale r
    zero(dr, d)
    for l in 0..<length {
        let g = a[l] * (ds[l] - weightedSum) * scale
        axpy(g, table + Int(history[l]) * d, dr, d)
        axpy(g, r, tableGrad + Int(gradientRows[l]) * d, d)
    }
    if case .product(let product, let productGradient) = route {
        // r = A e_c  ->  dA[i,:] += dr_i e_c,  de_c += A^T dr = sum_i dr_i A[i,:]
        for i in 0..<d { axpy(dr[i], ec, productGradient + i * d, d) }
        addTransposedProduct(dr, d, product, d, dCandidate)
        return
    }
    if case .weights(qComputed: false) = route {
        for i in 0..<d { q[i] = dot(wq + i * d, ec, d) }
    }
    // r = sum_i q_i W_k[i,:]  ->  dq_i = W_k[i,:] . dr,  dW_k[i,:] += q_i dr
    for i in 0..<d {
        dq[i] = dot(wk + i * d, dr, d)
        axpy(q[i], dr, keyGrad + i * d, d)
    }
    // q_i = W_q[i,:] . e_c  ->  dW_q[i,:] += dq_i e_c,  de_c += dq_i W_q[i,:]
    for i in 0..<d {
        axpy(dq[i], ec, queryGrad + i * d, d)
        axpy(dq[i], wq + i * d, dCandidate, d)
    }
}
