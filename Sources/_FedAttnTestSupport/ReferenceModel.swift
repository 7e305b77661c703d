import FedAttnCore
public import FedAttnModel
import Foundation

/// A deliberately plain Float64 implementation of BENCHMARK.md's model, written straight
/// from the formulas with no shared code, to check the fast Float32 kernels against.
public struct ReferenceModel {
    public let config: ModelConfig
    /// The parameters, by tensor name, in Float64.
    public var tensors: [String: [Double]]

    public init(_ model: AttentionModel) {
        config = model.config
        var tensors: [String: [Double]] = [:]
        for spec in model.parameters.layout.tensors {
            tensors[spec.name] = model.parameters.tensor(spec.name)!.map(Double.init)
        }
        self.tensors = tensors
    }

    /// The click logit for one example.
    public func logit(candidate: Int32, history: [Int32], strategy: Int32) -> Double {
        logits(candidate: candidate, history: history, strategy: strategy).click
    }

    /// The click logit o and the interaction logit o_i for one example.
    public func logits(candidate: Int32, history: [Int32], strategy: Int32) -> (click: Double, interaction: Double) {
        typealias N = AttentionModel.TensorName
        let d = config.dim, h = config.hidden
        let items = tensors[N.items]!, strategies = tensors[N.strategies]!
        func row(_ table: [Double], _ r: Int) -> [Double] { Array(table[(r * d)..<((r + 1) * d)]) }
        func matVec(_ m: [Double], _ v: [Double], rows: Int) -> [Double] {
            (0..<rows).map { i in (0..<v.count).reduce(0.0) { $0 + m[i * v.count + $1] * v[$1] } }
        }
        let ec = row(items, Int(candidate))
        let es = row(strategies, Int(strategy))
        // q = W_q e_c, k_l = W_k e_{h_l}; a = softmax(q . k_l / sqrt(d)); u = sum a_l e_{h_l}
        let q = matVec(tensors[N.query]!, ec, rows: d)
        var u = [Double](repeating: 0, count: d)
        if !history.isEmpty {
            let keys = history.map { matVec(tensors[N.key]!, row(items, Int($0)), rows: d) }
            let scores = keys.map { k in zip(q, k).reduce(0.0) { $0 + $1.0 * $1.1 } / Double(d).squareRoot() }
            let top = scores.max()!
            let exps = scores.map { Foundation.exp($0 - top) }
            let total = exps.reduce(0, +)
            for (l, item) in history.enumerated() {
                let e = row(items, Int(item))
                for j in 0..<d { u[j] += exps[l] / total * e[j] }
            }
        }
        // x = [u, e_c, u * e_c, e_s]; z = ReLU(W_1 x + b_1); o = w_2 . z + b_2; o_i = w_i . z + b_i
        let x = u + ec + zip(u, ec).map { $0 * $1 } + es
        let pre = matVec(tensors[N.hiddenWeight]!, x, rows: h)
        let b1 = tensors[N.hiddenBias]!, w2 = tensors[N.outputWeight]!, wi = tensors[N.interactionWeight]!
        var o = tensors[N.outputBias]![0], oi = tensors[N.interactionBias]![0]
        for i in 0..<h {
            o += w2[i] * max(0, pre[i] + b1[i])
            oi += wi[i] * max(0, pre[i] + b1[i])
        }
        return (o, oi)
    }

    /// The mean loss over `data`: each example's click binary cross-entropy and, as its role
    /// says (all `.labelled` without `roles`), the interaction head's.
    public func meanLoss(_ data: ExampleSet, roles: [ExampleRole]? = nil) -> Double {
        func bce(_ o: Double, _ y: Double) -> Double {
            let p = 1 / (1 + Foundation.exp(-o))
            return -(y * Foundation.log(p) + (1 - y) * Foundation.log(1 - p))
        }
        var total = 0.0
        for i in 0..<data.count {
            let (o, oi) = logits(candidate: data.candidates[i], history: Array(data.history(i)), strategy: data.strategies[i])
            switch roles?[i] ?? .labelled {
            case .labelled: total += bce(o, Double(data.labels[i]))
            case .rankedLabelled: total += bce(o, Double(data.labels[i])) + bce(oi, 1)
            case .sampledNegative: total += bce(oi, 0)
            }
        }
        return total / Double(data.count)
    }

    /// Central finite differences of `meanLoss` for every parameter of tensor `name`.
    public func numericalGradient(of name: String, on data: ExampleSet, roles: [ExampleRole]? = nil, step: Double = 1e-5) -> [Double] {
        var probe = self
        return tensors[name]!.indices.map { i in
            let original = probe.tensors[name]![i]
            probe.tensors[name]![i] = original + step
            let up = probe.meanLoss(data, roles: roles)
            probe.tensors[name]![i] = original - step
            let down = probe.meanLoss(data, roles: roles)
            probe.tensors[name]![i] = original
            return (up - down) / (2 * step)
        }
    }
}
