/// Adam (Kingma & Ba), in the form Keras uses, so that results compare with Keras runs:
/// alpha_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t);  p -= alpha_t * m / (sqrt(v) + epsilon).
public struct Adam: Sendable {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    /// Steps taken so far.
    public private(set) var step = 0
    private var m: [Float]
    private var v: [Float]

    public init(parameterCount: Int, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        m = [Float](repeating: 0, count: parameterCount)
        v = [Float](repeating: 0, count: parameterCount)
    }

    /// Applies one step of `gradient` (length `parameters.count`) to `parameters`.
    public mutating func apply(_ gradient: UnsafePointer<Float>, to parameters: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count == m.count, "Adam was made for \(m.count) parameters, not \(count).")
        step += 1
        let t = Double(step)
        let alpha = Float(Double(learningRate) * (1 - _pow(Double(beta2), t)).squareRoot() / (1 - _pow(Double(beta1), t)))
        let b1 = Vec8(repeating: beta1), b2 = Vec8(repeating: beta2)
        let c1 = Vec8(repeating: 1 - beta1), c2 = Vec8(repeating: 1 - beta2)
        let a = Vec8(repeating: alpha), eps = Vec8(repeating: epsilon)
        m.withUnsafeMutableBufferPointer { mb in
            v.withUnsafeMutableBufferPointer { vb in
                let mp = mb.baseAddress!, vp = vb.baseAddress!
                var i = 0
                while i + 8 <= count {
                    let g = load8(gradient + i)
                    let mi = b1 * load8(mp + i) + c1 * g
                    let vi = b2 * load8(vp + i) + c2 * g * g
                    store8(mi, mp + i)
                    store8(vi, vp + i)
                    store8(load8(parameters + i) - a * mi / (vi.squareRoot() + eps), parameters + i)
                    i += 8
                }
                while i < count {
                    let g = gradient[i]
                    mp[i] = beta1 * mp[i] + (1 - beta1) * g
                    vp[i] = beta2 * vp[i] + (1 - beta2) * g * g
                    parameters[i] -= alpha * mp[i] / (vp[i].squareRoot() + epsilon)
                    i += 1
                }
            }
        }
    }
}
