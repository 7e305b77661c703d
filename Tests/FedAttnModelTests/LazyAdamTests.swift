import FedAttnCore
import FedAttnModel
import Testing
import _FedAttnTestSupport

/// The item table steps lazily (only the rows a batch touched, each catching up on the steps
/// it missed); the model must still be what dense Adam makes it.
struct LazyAdamTests {
    /// Dense Adam over the same batches: the whole gradient, every parameter stepped.
    static func denseReference(model: AttentionModel, data: ExampleSet, batchSize: Int, seed: UInt64, epochs: Int) -> AttentionModel {
        var model = model
        let adam = Adam(parameterCount: model.parameterCount)
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<epochs {
            var order = (0..<Int32(data.count)).map { $0 }
            order.shuffle(using: &rng)
            var start = 0
            while start < order.count {
                var batch = ExampleSet()
                for i in order[start..<min(start + batchSize, order.count)] {
                    let i = Int(i)
                    batch.append(candidate: data.candidates[i], strategy: data.strategies[i], label: data.labels[i], history: data.history(i))
                }
                let gradient = model.lossAndGradient(on: batch).gradient
                model.parameters.values.withUnsafeMutableBufferPointer { p in
                    gradient.values.withUnsafeBufferPointer { adam.apply($0.baseAddress!, to: p.baseAddress!) }
                }
                start += batchSize
            }
        }
        return model
    }

    @Test(arguments: [1, 2])
    func lazyStepsMakeTheModelDenseAdamMakes(threads: Int) throws {
        let data = Fixtures.syntheticExamples().train
        let start = try AttentionModel(config: Fixtures.syntheticConfig, seed: 4)
        let trainer = LocalTrainer(model: start, config: TrainingConfig(batchSize: 64, seed: 4, threads: threads))
        trainer.trainEpoch(on: data)
        trainer.trainEpoch(on: data)
        let dense = Self.denseReference(model: start, data: data, batchSize: 64, seed: 4, epochs: 2)
        let moved = dense.parameters.subtracting(start.parameters).l2Norm
        let difference = trainer.model.parameters.subtracting(dense.parameters).l2Norm
        // One thread: the same arithmetic in the same order. Two: only the order of float
        // additions differs (and carries past 96 missed steps, which these batches never have).
        #expect(
            threads == 1 ? difference == 0 : difference < 1e-5 * moved, "lazy and dense differ by \(difference); training moved the model \(moved)")
        // Rows no example names never move.
        let named = Set(data.candidates + data.historyItems)
        let width = start.config.dim
        for row in 0..<start.config.items.rowCount where !named.contains(Int32(row)) {
            let range = (row * width)..<((row + 1) * width)
            #expect(Array(trainer.model.parameters.values[range]) == Array(start.parameters.values[range]), "row \(row) moved")
        }
    }

    @Test func aRowThatSatOutStepsCatchesUpOnThemAsDenseAdamWould() {
        // One row of 8: a gradient at step 1, nothing for steps 2...11, a gradient at 12.
        let dense = Adam(parameterCount: 8), lazy = Adam(parameterCount: 8)
        let moments = RowMoments(rows: 1, width: 8)
        var p: [Float] = (0..<8).map { Float($0) * 0.01 }
        var q = p
        let g1: [Float] = (0..<8).map { Float($0 + 1) * 1e-3 }, g12: [Float] = (0..<8).map { -Float($0) * 2e-3 }
        let zeros = [Float](repeating: 0, count: 8)
        for t in 1...12 {
            let g = t == 1 ? g1 : t == 12 ? g12 : zeros
            p.withUnsafeMutableBufferPointer { p in g.withUnsafeBufferPointer { dense.apply($0.baseAddress!, to: p.baseAddress!) } }
            let step = lazy.beginStep()
            guard t == 1 || t == 12 else { continue }
            var gradient = g
            q.withUnsafeMutableBufferPointer { q in
                gradient.withUnsafeMutableBufferPointer { gradient in
                    [Int32(0)].withUnsafeBufferPointer { rows in
                        lazy.update(
                            rows: rows, slots: rows, width: 8, table: q.baseAddress!, moments: moments, summing: [gradient.baseAddress!],
                            step: step)
                    }
                }
            }
        }
        for i in 0..<8 { #expect(abs(p[i] - q[i]) < 1e-7, "parameter \(i): dense \(p[i]), lazy \(q[i])") }
    }

    @Test(arguments: [1, 2])
    func trainingInPlaceThenRestoringGivesBackTheModelBitForBit(threads: Int) throws {
        let data = Fixtures.syntheticExamples().train
        let start = try AttentionModel(config: Fixtures.syntheticConfig, seed: 5)
        let trainer = LocalTrainer(model: start, config: TrainingConfig(batchSize: 64, seed: 5, threads: threads, proximalMu: 0.01))
        trainer.trainEpoch(on: data)
        let delta = trainer.delta()
        #expect(delta.scalarCount > 0)
        let restored = trainer.restoreStart()
        #expect(restored.parameters.values == start.parameters.values)
    }

    @Test func withFedProxARowCatchesUpOnEveryMissedStep() {
        // One row of 8, anchored at its start: a gradient at step 1, nothing but FedProx's
        // pull for steps 2...199, a gradient at 200: past the 96-step limit of the pull-free case.
        let mu: Float = 0.01
        let dense = Adam(parameterCount: 8), lazy = Adam(parameterCount: 8)
        let moments = RowMoments(rows: 1, width: 8)
        let anchor: [Float] = (0..<8).map { Float($0) * 0.01 }
        var p = anchor, q = anchor
        let g1: [Float] = (0..<8).map { Float($0 + 1) * 1e-3 }, g200: [Float] = (0..<8).map { -Float($0) * 2e-3 }
        let zeros = [Float](repeating: 0, count: 8)
        for t in 1...200 {
            var g = t == 1 ? g1 : t == 200 ? g200 : zeros
            let denseStep = dense.beginStep()
            p.withUnsafeMutableBufferPointer { p in
                g.withUnsafeMutableBufferPointer { g in
                    anchor.withUnsafeBufferPointer { a in
                        dense.update(0..<8, summing: [g.baseAddress!], parameters: p.baseAddress!, step: denseStep, proximal: (a.baseAddress!, mu))
                    }
                }
            }
            let step = lazy.beginStep()
            guard t == 1 || t == 200 else { continue }
            q.withUnsafeMutableBufferPointer { q in
                g.withUnsafeMutableBufferPointer { gradient in
                    anchor.withUnsafeBufferPointer { a in
                        [Int32(0)].withUnsafeBufferPointer { rows in
                            lazy.update(
                                rows: rows, slots: rows, width: 8, table: q.baseAddress!, moments: moments, summing: [gradient.baseAddress!],
                                step: step, proximal: (a.baseAddress!, mu))
                        }
                    }
                }
            }
        }
        for i in 0..<8 { #expect(abs(p[i] - q[i]) < 1e-7, "parameter \(i): dense \(p[i]), lazy \(q[i])") }
    }
}
