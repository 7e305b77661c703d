import FedAttnAggregation
import FedAttnCore
import RealModule
import Testing

struct FedAvgTests {
    static let layout = ParameterLayout([TensorSpec(name: "table", shape: [3, 2]), TensorSpec(name: "w", shape: [2])])

    static func update(_ client: String, _ n: Int, _ values: [Float], rows: Set<String> = ["table"]) -> ClientUpdate {
        ClientUpdate(client: client, exampleCount: n, delta: SparseWeights(Weights(layout: layout, values: values), sparseTensors: rows))
    }

    static func dense(_ values: [Float], rows: Set<String> = []) -> SparseWeights {
        SparseWeights(Weights(layout: layout, values: values), sparseTensors: rows)
    }

    @Test func theAverageIsWeightedByExampleCount() throws {
        // a (100 examples) changed row 0; b (300) changed rows 0 and 2.
        let a = Self.update("a", 100, [1, 2, 0, 0, 0, 0, 4, -4])
        let b = Self.update("b", 300, [3, 6, 0, 0, 1, 1, 0, 8])
        var round = UpdateAccumulator(layout: Self.layout)
        round.add(a)
        round.add(b)
        var fedavg = FedAvg()
        let global = Weights(layout: Self.layout, values: [10, 10, 10, 10, 10, 10, 1, 1])
        let aggregated = fedavg.aggregate(round, global: global)
        let next = try #require(aggregated)
        // Row 0: (100*1 + 300*3)/400 = 2.5, (100*2 + 300*6)/400 = 5; row 2: 300/400 = 0.75;
        // w: (100*4 + 0)/400 = 1, (100*-4 + 300*8)/400 = 5.
        #expect(next.values == [12.5, 15, 10, 10, 10.75, 10.75, 2, 6])
    }

    /// FedNova (Wang et al. 2020): a silo that took three times the local steps moves the
    /// model along its per-step direction at its share of the examples, not three times that.
    @Test func fedNovaWeighsEachSilosPerStepDirectionByItsShare() throws {
        // Both silos step along a constant direction: a's +1 per step on w[0], b's +1 on w[1].
        // a: 100 examples, 1 step; b: 300 examples, 3 steps. tau_eff = 0.25 * 1 + 0.75 * 3 = 2.5.
        let a = ClientUpdate(client: "a", exampleCount: 100, delta: Self.dense([0, 0, 0, 0, 0, 0, 1, 0]), localSteps: 1)
        let b = ClientUpdate(client: "b", exampleCount: 300, delta: Self.dense([0, 0, 0, 0, 0, 0, 0, 3]), localSteps: 3)
        var nova = UpdateAccumulator(layout: Self.layout, weighting: .normalized)
        var fedavg = UpdateAccumulator(layout: Self.layout)
        for u in [a, b] {
            nova.add(u)
            fedavg.add(u)
        }
        let novaMean = try #require(nova.meanDelta(rowWise: false)).values
        let fedavgMean = try #require(fedavg.meanDelta(rowWise: false)).values
        // FedNova: 2.5 * (0.25 * 1, 0.75 * 1): b pulls 3x as hard as a, its share of examples.
        #expect(abs(novaMean[6] - 0.625) < 1e-6 && abs(novaMean[7] - 1.875) < 1e-6, "\(novaMean)")
        // FedAvg: (0.25 * 1, 0.75 * 3): b pulls 9x as hard (its share times its steps).
        #expect(abs(fedavgMean[6] - 0.25) < 1e-6 && abs(fedavgMean[7] - 2.25) < 1e-6, "\(fedavgMean)")
        // The coefficients a silo scales by before a secure sum give the same mean.
        let c = UpdateAccumulator.Weighting.normalized.coefficients(examples: [100, 300], steps: [1, 3])
        #expect(abs(c[0] * 1 - 0.625) < 1e-9 && abs(c[1] * 3 - 1.875) < 1e-9)
        #expect(UpdateAccumulator.Weighting.examples.coefficients(examples: [100, 300], steps: [1, 3]) == [0.25, 0.75])
    }

    /// The cap on FedNova's coefficients: one silo claiming ten thousand times the examples
    /// (and so the steps) of nine honest ones cannot scale the step past 1.5 times theirs.
    @Test func fedNovaCapsItsCoefficientsSoAnInflatedCountCannotScaleTheStep() throws {
        let layout = ParameterLayout([TensorSpec(name: "w", shape: [1])])
        func update(_ client: String, _ n: Int, steps: Int) -> ClientUpdate {
            ClientUpdate(
                client: client, exampleCount: n, delta: SparseWeights(Weights(layout: layout, values: [1]), sparseTensors: []), localSteps: steps)
        }
        var round = UpdateAccumulator(layout: layout, weighting: .normalized)
        for i in 0..<9 { round.add(update("honest-\(i)", 1_000, steps: 4)) }
        round.add(update("inflated", 10_000_000, steps: 39_063))
        // Every delta is 1: the paper's tau_eff would make the step sum c_i = about 8.7.
        let step = try #require(round.meanDelta(rowWise: false)).values[0]
        #expect(abs(step - Float(UpdateAccumulator.Weighting.maxCoefficientSum)) < 1e-5, "\(step)")
        let c = UpdateAccumulator.Weighting.normalized.coefficients(
            examples: Array(repeating: 1_000, count: 9) + [10_000_000], steps: Array(repeating: 4, count: 9) + [39_063])
        #expect(abs(c.reduce(0, +) - UpdateAccumulator.Weighting.maxCoefficientSum) < 1e-9)
        // The inflated silo weighs about what one honest silo does (examples over steps), not 99.9%.
        #expect(c[9] < 1.1 * c[0], "\(c)")
    }

    @Test func fedNovaWithEqualStepsIsFedAvg() throws {
        var rng = SeededGenerator(seed: 8)
        var nova = UpdateAccumulator(layout: Self.layout, tables: ["table"], weighting: .normalized)
        var fedavg = UpdateAccumulator(layout: Self.layout, tables: ["table"])
        for i in 0..<5 {
            let values = (0..<8).map { _ in rng.nextUnit() < 0.3 ? 0 : Float(rng.nextNormal()) }
            let u = ClientUpdate(client: "c\(i)", exampleCount: 50 + 40 * i, delta: Self.dense(values, rows: ["table"]), localSteps: 4)
            nova.add(u)
            fedavg.add(u)
        }
        let (x, y) = (try #require(nova.meanDelta(rowWise: false)).values, try #require(fedavg.meanDelta(rowWise: false)).values)
        for (p, q) in zip(x, y) { #expect(abs(p - q) <= 1e-6 * max(1, abs(q))) }
    }

    @Test func rowWiseAveragesARowOverTheClientsThatSentIt() throws {
        var round = UpdateAccumulator(layout: Self.layout)
        round.add(Self.update("a", 100, [1, 2, 0, 0, 0, 0, 0, 0]))
        round.add(Self.update("b", 300, [3, 6, 0, 0, 1, 1, 0, 0]))
        let mean = try #require(round.meanDelta(rowWise: true))
        #expect(mean.values == [2.5, 5, 0, 0, 1, 1, 0, 0])
    }

    @Test func streamingEqualsTheBatchMeanInAnyOrder() throws {
        var rng = SeededGenerator(seed: 4)
        let updates = (0..<7).map { i in
            Self.update("c\(i)", 10 + i * 13, (0..<8).map { _ in rng.nextUnit() < 0.3 ? 0 : Float(rng.nextNormal()) })
        }
        var forward = UpdateAccumulator(layout: Self.layout), backward = UpdateAccumulator(layout: Self.layout)
        for u in updates { forward.add(u) }
        for u in updates.reversed() { backward.add(u) }
        // The batch mean, computed directly from dense deltas.
        let total = Double(updates.reduce(0) { $0 + $1.exampleCount })
        let batch = (0..<8).map { j in updates.reduce(0.0) { $0 + Double($1.exampleCount) * Double($1.delta.densified().values[j]) } / total }
        for (mean, expected) in [(try #require(forward.meanDelta(rowWise: false)), batch), (try #require(backward.meanDelta(rowWise: false)), batch)]
        {
            for (a, b) in zip(mean.values, expected) { #expect(Double(a).isApproximatelyEqual(to: b, absoluteTolerance: 1e-6)) }
        }
        #expect(forward.totalExamples == backward.totalExamples)
    }

    /// The running sum is kept in Float to halve its memory: at the coordinator's scale (200
    /// clients, example counts from 50 to 5,000, deltas of training's size) its mean must stay
    /// as close to a Double sum's as Float32 rounding of the model itself.
    @Test func aFloatRunningSumMatchesADoubleSumAtTwoHundredClients() throws {
        let layout = ParameterLayout([TensorSpec(name: "w", shape: [4_096])])
        var rng = SeededGenerator(seed: 11)
        var round = UpdateAccumulator(layout: layout)
        var reference = [Double](repeating: 0, count: layout.count)
        var total = 0.0
        for client in 0..<200 {
            let examples = 50 + Int(rng.nextUnit() * 4_950)
            let delta = (0..<layout.count).map { _ in Float(rng.nextNormal() * 0.01) }
            let dense = SparseWeights(Weights(layout: layout, values: delta), sparseTensors: [])
            round.add(ClientUpdate(client: "c\(client)", exampleCount: examples, delta: dense))
            for (j, value) in delta.enumerated() { reference[j] += Double(examples) * Double(value) }
            total += Double(examples)
        }
        let mean = try #require(round.meanDelta(rowWise: false))
        let expected = reference.map { $0 / total }
        let largest = expected.map(abs).max()!
        let worst = zip(mean.values, expected).map { abs(Double($0) - $1) }.max()!
        #expect(worst / largest < 1e-6, "worst error \(worst), largest mean \(largest)")
    }

    @Test func aRoundWithoutUpdatesPublishesNothing() {
        var fedavg = FedAvg()
        let aggregated = fedavg.aggregate(UpdateAccumulator(layout: Self.layout), global: Weights(zerosLike: Self.layout))
        #expect(aggregated == nil)
    }
}

/// The running sums keep a table by the rows sent; the mean must be what dense sums give.
struct RowSumTests {
    static let layout = ParameterLayout([TensorSpec(name: "table", shape: [50, 8]), TensorSpec(name: "w", shape: [5])])

    @Test(arguments: [false, true])
    func aTableSummedByRowGivesTheDenseMean(rowWise: Bool) throws {
        var rng = SeededGenerator(seed: 11)
        var round = UpdateAccumulator(layout: Self.layout)
        var denseSum = [Double](repeating: 0, count: Self.layout.count), rowWeight = [Double](repeating: 0, count: 50)
        var total = 0.0
        for client in 0..<9 {
            let n = 10 + client * 7
            var values = [Float](repeating: 0, count: Self.layout.count)
            for row in 1..<50 where rng.nextUnit() < 0.2 {
                for j in 0..<8 { values[row * 8 + j] = Float(rng.nextNormal()) }
            }
            for j in 400..<405 { values[j] = Float(rng.nextNormal()) }
            // Most clients send the table as rows; two send it whole (the rows it changed count as sent).
            let whole = client % 4 == 3
            round.add(
                ClientUpdate(
                    client: "c\(client)", exampleCount: n,
                    delta: SparseWeights(Weights(layout: Self.layout, values: values), sparseTensors: whole ? [] : ["table"])))
            for (j, value) in values.enumerated() { denseSum[j] += Double(n) * Double(value) }
            for row in 0..<50 where values[(row * 8)..<(row * 8 + 8)].contains(where: { $0 != 0 }) { rowWeight[row] += Double(n) }
            total += Double(n)
        }
        let mean = try #require(round.meanDelta(rowWise: rowWise))
        for j in 0..<Self.layout.count {
            let divisor = rowWise && j < 400 ? rowWeight[j / 8] : total
            let expected = divisor > 0 ? denseSum[j] / divisor : 0
            #expect(abs(Double(mean.values[j]) - expected) < 1e-5 * max(1, abs(expected)), "value \(j)")
        }
        #expect(round.rowsSent(tensor: 0) == (0..<50).filter { rowWeight[$0] > 0 }.map { Int32($0) })
    }
}
