import FedAttnCore

extension AttentionModel {
    /// The click logit of every example, computed on `threads` threads.
    public func logits(for data: ExampleSet, threads: Int = 1) -> [Float] {
        scores(for: data, threads: threads) { kernel, p, columns, i in kernel.forward(p, columns, i) }
    }

    /// The ranking score of every example: log P(interacted) + log P(click | interacted)
    /// (see `ExampleRole`), what a recommendation orders items by.
    public func rankingScores(for data: ExampleSet, threads: Int = 1) -> [Float] {
        scores(for: data, threads: threads) { kernel, p, columns, i in kernel.rankingScore(p, columns, i) }
    }

    /// `score` of every example, on `threads` threads.
    private func scores(
        for data: ExampleSet, threads: Int, _ score: @escaping (ExampleKernel, UnsafePointer<Float>, ExampleColumns, Int) -> Float
    ) -> [Float] {
        guard !data.isEmpty else { return [] }
        data.requireFits(config)
        let offsets = TensorOffsets(parameters.layout)
        let workers = max(1, min(threads, data.count))
        var out = [Float](repeating: 0, count: data.count)
        let config = config
        parameters.values.withUnsafeBufferPointer { p in
            data.withColumns { columns in
                out.withUnsafeMutableBufferPointer { result in
                    let n = data.count
                    let run = { (t: Int) in
                        let kernel = ExampleKernel(config: config, offsets: offsets, mode: .summed)
                        kernel.prepare(p.baseAddress!)
                        for i in (n * t / workers)..<(n * (t + 1) / workers) {
                            result[i] = score(kernel, p.baseAddress!, columns, i)
                        }
                    }
                    parallelFor(workers, run)
                }
            }
        }
        return out
    }

    /// The click probability of every example.
    public func probabilities(for data: ExampleSet, threads: Int = 1) -> [Float] {
        logits(for: data, threads: threads).map(sigmoid)
    }
}
