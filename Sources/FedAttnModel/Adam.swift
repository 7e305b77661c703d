import FedAttnCore

/// Adam (Kingma & Ba), in the form Keras uses, so that results compare with Keras runs:
/// alpha_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t);  p -= alpha_t * m / (sqrt(v) + epsilon).
///
/// A step is taken in two parts, `beginStep` once and then `update` over disjoint ranges
/// (or, for embedding tables, rows: see Adam+Rows.swift), so that several threads can each
/// update their share of a large parameter buffer. The moments live in `ZeroedBuffer`s:
/// parameters that are never stepped cost no memory.
public final class Adam {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    public let parameterCount: Int
    /// Steps begun so far.
    public private(set) var step = 0
    private let moments: (m: ZeroedBuffer<Float>, v: ZeroedBuffer<Float>)
    private var m: UnsafeMutablePointer<Float> { moments.m.pointer }
    private var v: UnsafeMutablePointer<Float> { moments.v.pointer }
    /// alpha_t of every step begun, `alphas[t - 1]`: rows that sat out steps catch up with them.
    private(set) var alphas: UnsafeMutablePointer<Float>
    private var alphaCapacity = 1024

    /// The per-step constants every range of one step uses.
    public struct Step: Sendable {
        let alpha: Float
        /// t, counting from 1.
        let number: Int
    }

    public init(parameterCount: Int, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.parameterCount = parameterCount
        moments = (ZeroedBuffer(count: parameterCount), ZeroedBuffer(count: parameterCount))
        alphas = .allocate(capacity: alphaCapacity)
    }

    deinit { alphas.deallocate() }

    /// Advances the step count and returns the step's constants.
    public func beginStep() -> Step {
        step += 1
        let t = Double(step)
        let alpha = Float(Double(learningRate) * (1 - _pow(Double(beta2), t)).squareRoot() / (1 - _pow(Double(beta1), t)))
        if step > alphaCapacity {
            let grown = UnsafeMutablePointer<Float>.allocate(capacity: alphaCapacity * 2)
            grown.moveInitialize(from: alphas, count: alphaCapacity)
            alphas.deallocate()
            (alphas, alphaCapacity) = (grown, alphaCapacity * 2)
        }
        alphas[step - 1] = alpha
        return Step(alpha: alpha, number: step)
    }

    /// Applies the step to `parameters[range]` from `gradient[range]`. Ranges given to
    /// concurrent calls must not overlap.
    public func update(_ range: Range<Int>, gradient: UnsafePointer<Float>, parameters: UnsafeMutablePointer<Float>, step: Step) {
        precondition(range.upperBound <= parameterCount, "Adam was made for \(parameterCount) parameters, not \(range.upperBound).")
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            update8(at: i, gradient: load8(gradient + i), parameters: parameters, step: step)
            i += 8
        }
        while i < range.upperBound {
            update1(at: i, gradient: gradient[i], parameters: parameters, step: step)
            i += 1
        }
    }

    /// The step from the sum of several gradient buffers (one per worker), read in one pass
    /// without storing the sum. Ranges given to concurrent calls must not overlap. The
    /// buffers are left as they are: each worker clears its own, on its own core, since a
    /// clear from here would pull the other worker's cache lines across.
    public func update(
        _ range: Range<Int>, summing gradients: [UnsafeMutablePointer<Float>], parameters: UnsafeMutablePointer<Float>, step: Step,
        proximal: (anchor: UnsafePointer<Float>, mu: Float)? = nil
    ) {
        precondition(range.upperBound <= parameterCount, "Adam was made for \(parameterCount) parameters, not \(range.upperBound).")
        precondition(!gradients.isEmpty, "Need at least one gradient buffer.")
        guard gradients.count <= 2 else {
            // More than two: sum the rest into the first, then step from it.
            for extra in gradients.dropFirst() { add(extra + range.lowerBound, gradients[0] + range.lowerBound, range.count) }
            update(range, summing: [gradients[0]], parameters: parameters, step: step, proximal: proximal)
            return
        }
        let first = gradients[0], second = gradients.count > 1 ? gradients[1] : nil
        // FedProx: + mu (p - anchor), pulling a client's model toward the global one it started from.
        let anchor = proximal?.anchor, mu = proximal?.mu ?? 0
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            var g = second.map { load8(first + i) + load8($0 + i) } ?? load8(first + i)
            if let anchor { g += Vec8(repeating: mu) * (load8(parameters + i) - load8(anchor + i)) }
            update8(at: i, gradient: g, parameters: parameters, step: step)
            i += 8
        }
        while i < range.upperBound {
            var g = first[i] + (second?[i] ?? 0)
            if let anchor { g += mu * (parameters[i] - anchor[i]) }
            update1(at: i, gradient: g, parameters: parameters, step: step)
            i += 1
        }
    }

    @inline(__always) private func update8(at i: Int, gradient g: Vec8, parameters: UnsafeMutablePointer<Float>, step: Step) {
        adam8(parameters + i, m + i, v + i, g, step.alpha)
    }

    /// Eight parameters' step, their moments at `m` and `v`.
    @inline(__always) func adam8(
        _ p: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ g: Vec8, _ alpha: Float
    ) {
        let mi = Vec8(repeating: beta1) * load8(m) + Vec8(repeating: 1 - beta1) * g
        let vi = Vec8(repeating: beta2) * load8(v) + Vec8(repeating: 1 - beta2) * g * g
        store8(mi, m)
        store8(vi, v)
        store8(load8(p) - Vec8(repeating: alpha) * mi / (vi.squareRoot() + Vec8(repeating: epsilon)), p)
    }

    @inline(__always) private func update1(at i: Int, gradient g: Float, parameters: UnsafeMutablePointer<Float>, step: Step) {
        m[i] = beta1 * m[i] + (1 - beta1) * g
        v[i] = beta2 * v[i] + (1 - beta2) * g * g
        parameters[i] -= step.alpha * m[i] / (v[i].squareRoot() + epsilon)
    }

    /// One whole step on one thread.
    public func apply(_ gradient: UnsafePointer<Float>, to parameters: UnsafeMutablePointer<Float>) {
        update(0..<parameterCount, gradient: gradient, parameters: parameters, step: beginStep())
    }
}
