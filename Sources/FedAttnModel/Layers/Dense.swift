// The two dense layers after the attention.
//
// Shapes: x [4d], W_1 [H, 4d], b_1 [H], z [H], w_2 [H], b_2 [1], w_i [H], b_i [1].
// Forward:
//   z = ReLU(W_1 x + b_1)
//   o   = w_2 . z + b_2        (the click logit; p = sigmoid(o) lives in SigmoidBCE.swift)
//   o_i = w_i . z + b_i        (the interaction logit, trained only when training to rank)

/// z = ReLU(W_1 x + b_1); returns the logit o = w_2 . z + b_2. The strategy's share,
/// b_1 + W_s e_s, comes prepared as `start` [H] and W_1 transposed as `w1Transposed` [4d, H]
/// (`PreparedWeights`), of which the first `inputs` = 3d rows meet x's first 3d values.
@inline(__always) func denseForward(
    x: UnsafePointer<Float>, inputs: Int, hidden: Int, start: UnsafePointer<Float>, w1Transposed: UnsafePointer<Float>,
    w2: UnsafePointer<Float>, b2: Float, z: UnsafeMutablePointer<Float>
) -> Float {
    copy(start, z, hidden)
    addTransposedProduct(x, inputs, w1Transposed, hidden, z)
    for i in 0..<hidden { z[i] = max(0, z[i]) }
    return dot(w2, z, hidden) + b2
}

/// Given dL/do and dL/do_i, accumulates into the dense gradients and writes dL/dx into `dx`
/// ([4d]). With `strategyDz` ([H]) the strategy's share (dW_s, dx's last d values) is left
/// to `PreparedWeights.flush`: dz is added there instead, and only x's first 3d values'
/// gradients are written.
@inline(__always) func denseBackward(
    dLogit: Float, dInteraction: Float, x: UnsafePointer<Float>, z: UnsafePointer<Float>, inputs: Int, hidden: Int,
    w1: UnsafePointer<Float>, w2: UnsafePointer<Float>, wi: UnsafePointer<Float>,
    w1Grad: UnsafeMutablePointer<Float>, b1Grad: UnsafeMutablePointer<Float>,
    w2Grad: UnsafeMutablePointer<Float>, b2Grad: UnsafeMutablePointer<Float>,
    wiGrad: UnsafeMutablePointer<Float>, biGrad: UnsafeMutablePointer<Float>,
    dx: UnsafeMutablePointer<Float>, strategyDz: UnsafeMutablePointer<Float>?
) {
    // o = w_2 . z + b_2  ->  dw_2 += dLogit z,  db_2 += dLogit (likewise o_i)
    axpy(dLogit, z, w2Grad, hidden)
    b2Grad[0] += dLogit
    if dInteraction != 0 {
        axpy(dInteraction, z, wiGrad, hidden)
        biGrad[0] += dInteraction
    }
    // With the strategy's share summed per batch, only the first 3d inputs are done here.
    let done = strategyDz == nil ? inputs : inputs / 4 * 3
    zero(dx, done)
    for i in 0..<hidden where z[i] > 0 {
        // z_i = ReLU(W_1[i,:] . x + b_1i): gradient flows only where the unit is active
        let dz = dLogit * w2[i] + dInteraction * wi[i]
        b1Grad[i] += dz
        axpy(dz, x, w1Grad + i * inputs, done)
        axpy(dz, w1 + i * inputs, dx, done)
        strategyDz?[i] += dz
    }
}
