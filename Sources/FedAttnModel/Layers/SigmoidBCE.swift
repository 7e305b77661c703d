import RealModule

// p = sigmoid(o); loss = -(y log p + (1 - y) log(1 - p)), written in terms of the logit o
// so that it never takes the log of 0: loss = max(o, 0) - o y + log(1 + exp(-|o|)).

/// The binary cross-entropy of logit `o` against label `y`.
@inline(__always) func sigmoidBCEForward(logit o: Float, label y: Float) -> Float {
    max(o, 0) - o * y + Float.log(onePlus: Float.exp(-abs(o)))
}

/// d loss / d o = sigmoid(o) - y.
@inline(__always) func sigmoidBCEBackward(logit o: Float, label y: Float) -> Float {
    sigmoid(o) - y
}

/// The logistic function, stable for large |o|.
@inline(__always) func sigmoid(_ o: Float) -> Float {
    if o >= 0 { return 1 / (1 + Float.exp(-o)) }
    let e = Float.exp(o)
    return e / (1 + e)
}
