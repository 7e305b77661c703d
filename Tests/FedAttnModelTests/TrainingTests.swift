import FedAttnCore
import FedAttnModel
import RealModule
import Testing
import _FedAttnTestSupport

struct TrainingTests {
    @Test func oneAdamStepMatchesTheHandComputation() {
        // Step 1: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(1 - 0.999) / (1 - 0.9);
        // p -= alpha m / (sqrt(v) + eps) = lr sqrt(0.001)/0.1 * 0.1 g / (sqrt(0.001)|g| + eps) ~ lr sign(g).
        let adam = Adam(parameterCount: 3, learningRate: 0.01)
        var parameters: [Float] = [1, -2, 0.5]
        let gradient: [Float] = [0.5, -4, 0]
        parameters.withUnsafeMutableBufferPointer { p in gradient.withUnsafeBufferPointer { adam.apply($0.baseAddress!, to: p.baseAddress!) } }
        for (i, g) in gradient.enumerated() {
            let alpha = 0.01 * (1 - 0.999).squareRoot() / (1 - 0.9)
            let step = g == 0 ? 0 : alpha * 0.1 * Double(g) / ((0.001 * Double(g * g)).squareRoot() + 1e-7)
            let expected = [1.0, -2, 0.5][i] - step
            #expect(Double(parameters[i]).isApproximatelyEqual(to: expected, absoluteTolerance: 1e-6), "parameter \(i)")
        }
    }

    @Test func theSameSeedAndThreadCountRepeatARunExactly() throws {
        let data = Fixtures.syntheticExamples()
        func run(threads: Int) throws -> [Float] {
            let trainer = LocalTrainer(
                model: try AttentionModel(config: Fixtures.syntheticConfig, seed: 9), config: TrainingConfig(seed: 9, threads: threads))
            trainer.trainEpoch(on: data.train)
            return trainer.model.parameters.values
        }
        #expect(try run(threads: 1) == (try run(threads: 1)))
        #expect(try run(threads: 2) == (try run(threads: 2)))
    }

    @Test func twoThreadsComputeTheSameStepsAsOne() throws {
        // Only the order of float additions differs, so the models stay close.
        let data = Fixtures.syntheticExamples()
        let one = LocalTrainer(model: try AttentionModel(config: Fixtures.syntheticConfig, seed: 2), config: TrainingConfig(seed: 2, threads: 1))
        let two = LocalTrainer(model: try AttentionModel(config: Fixtures.syntheticConfig, seed: 2), config: TrainingConfig(seed: 2, threads: 2))
        one.trainEpoch(on: data.train)
        two.trainEpoch(on: data.train)
        let difference = one.model.parameters.subtracting(two.model.parameters).l2Norm
        #expect(difference < 1e-3 * one.model.parameters.l2Norm)
    }

    @Test func trainingLearnsThePlantedStructure() throws {
        let data = Fixtures.syntheticExamples()
        let trainer = LocalTrainer(model: try AttentionModel(config: Fixtures.syntheticConfig, seed: 1), config: TrainingConfig(threads: 2))
        let before = Evaluation(model: trainer.model, data: data.test)
        var losses: [Double] = []
        for _ in 0..<3 { losses.append(trainer.trainEpoch(on: data.train).meanLoss) }
        let after = Evaluation(model: trainer.model, data: data.test)
        #expect(losses[2] < losses[0])
        #expect(try #require(after.auc) > 0.64)
        #expect(try #require(after.auc) > (try #require(before.auc)) + 0.1)
        #expect(try #require(after.logLoss) < (try #require(before.logLoss)))
    }
}
