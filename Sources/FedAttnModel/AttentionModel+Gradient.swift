public import FedAttnCore

extension AttentionModel {
    /// The mean loss over `data` and its gradient with respect to every parameter, on one
    /// thread: what one full-batch step would use, and what the gradient checks test.
    /// `roles` says what each example trains (all `.labelled` when nil).
    public func lossAndGradient(on data: ExampleSet, roles: [ExampleRole]? = nil) -> (loss: Double, gradient: Weights) {
        lossAndGradient(on: data, roles: roles, mode: .summed)
    }

    /// `lossAndGradient` with each example's gradient taken whole, as DP-SGD takes it to clip
    /// it (the kernel's per-example mode, without the terms a batch shares summed once): the
    /// gradient checks test both.
    package func lossAndGradientExampleByExample(on data: ExampleSet, roles: [ExampleRole]? = nil) -> (loss: Double, gradient: Weights) {
        lossAndGradient(on: data, roles: roles, mode: .perExample)
    }

    private func lossAndGradient(on data: ExampleSet, roles: [ExampleRole]?, mode: ExampleKernel.GradientMode) -> (loss: Double, gradient: Weights) {
        precondition(!data.isEmpty, "The gradient of an empty example set is undefined.")
        data.requireFits(config)
        var gradient = Weights(zerosLike: parameters.layout)
        let kernel = ExampleKernel(config: config, offsets: TensorOffsets(parameters.layout), mode: mode)
        let scale = 1 / Float(data.count)
        var total = 0.0
        parameters.values.withUnsafeBufferPointer { p in
            gradient.values.withUnsafeMutableBufferPointer { g in
                data.withColumns { columns in
                    kernel.prepare(p.baseAddress!)
                    for i in 0..<data.count {
                        total += Double(
                            kernel.accumulateGradient(p.baseAddress!, g.baseAddress!, columns, i, scale: scale, role: roles?[i] ?? .labelled))
                    }
                    kernel.flush(p.baseAddress!, g.baseAddress!)
                }
            }
        }
        return (total / Double(data.count), gradient)
    }

    /// Which past clicks the candidate attends to: the attention weight of each history
    /// position (summing to 1; empty for an empty history) and the pooled vector u.
    public func attention(candidate: Int32, history: [Int32], strategy: Int32 = 0) -> (weights: [Float], u: [Float]) {
        var one = ExampleSet()
        one.append(candidate: candidate, strategy: strategy, label: 0, history: history.suffix(config.historyLength))
        one.requireFits(config)
        let kernel = ExampleKernel(config: config, offsets: TensorOffsets(parameters.layout), mode: .summed)
        _ = parameters.values.withUnsafeBufferPointer { p in
            kernel.prepare(p.baseAddress!)
            return one.withColumns { kernel.forward(p.baseAddress!, $0, 0) }
        }
        return (Array(kernel.attentionWeights.prefix(min(history.count, config.historyLength))), kernel.pooledHistory)
    }
}
