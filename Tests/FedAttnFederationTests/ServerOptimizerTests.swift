import FedAttnAggregation
import FedAttnCodec
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

/// The server optimisers (FedAvgM, FedAdam, FedYogi, FedAdagrad) keep state across rounds;
/// a coordinator killed and restarted on its state folder carries on with the same state.
struct ServerOptimizerTests {
    /// Round `round`'s update: a few item rows (which ones depends on the round) and the
    /// dense tensors, float16 as a client sends it.
    static func update(round: Int) throws -> Data {
        let layout = AttentionModel.layout(for: Fixtures.tinyConfig)
        var delta = Weights(zerosLike: layout)
        let width = Fixtures.tinyConfig.dim
        for row in [1 + round % 3, 5] {
            for j in 0..<width { delta.values[row * width + j] = Float((row * 7 + j * 3 + round) % 11 - 5) * 1e-3 }
        }
        let dense = layout.range(at: 1).lowerBound
        for i in dense..<delta.values.count { delta.values[i] = Float((i * 5 + round * 3) % 13 - 6) * 2e-4 }
        return try TensorPayload.encode(SparseWeights(delta, sparseTensors: [AttentionModel.TensorName.items]), precision: .float16)
    }

    /// Runs `rounds` with one client sending `update(round:)` and evaluating.
    static func drive(_ coordinator: Coordinator, rounds: ClosedRange<Int>) async throws {
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        var round = rounds.lowerBound
        while round <= rounds.upperBound {
            switch try await coordinator.nextTask(client: "a", longPoll: .seconds(10)) {
            case .train(let r, let version, _):
                try await coordinator.submitUpdate(
                    client: "a", round: r, baseVersion: version, examples: 100, trainSeconds: 0, payload: try update(round: r))
            case .evaluate(let r, let version, _):
                try await coordinator.submitEvaluation(client: "a", round: r, version: version, report: EvaluationReport())
                round = r + 1
            case .wait:
                break
            case .done:
                Issue.record("the federation ended before round \(round)")
                return
            case .secure:
                Issue.record("no secure aggregation was asked for")
                return
            }
        }
    }

    static func coordinator(_ server: ServerOptimizer, folder: String) throws -> Coordinator {
        try Coordinator(
            modelConfig: Fixtures.tinyConfig, config: CoordinatorConfig(rounds: 4, minClients: 1, server: server),
            initialModel: try Fixtures.tinyModel(), store: try StateStore(folder: folder))
    }

    @Test(arguments: [ServerOptimizer.Rule.fedavgm, .fedadam, .fedyogi, .fedadagrad])
    func aRestartedCoordinatorCarriesOnWithTheSameStateBitForBit(rule: ServerOptimizer.Rule) async throws {
        let server = ServerOptimizer(rule: rule)
        let uninterrupted = try Self.coordinator(server, folder: try Fixtures.temporaryFolder())
        try await Self.drive(uninterrupted, rounds: 1...4)

        let first = try Fixtures.temporaryFolder()
        let killed = try Self.coordinator(server, folder: first)
        try await Self.drive(killed, rounds: 1...2)
        // What a kill after round 2 leaves: the folder as it is (every write is durable).
        let copy = try Fixtures.temporaryFolder()
        for name in try FileManager.default.contentsOfDirectory(atPath: first) where name != "lock" {
            try FileManager.default.copyItem(atPath: first + "/" + name, toPath: copy + "/" + name)
        }
        let resumed = try Self.coordinator(server, folder: copy)
        #expect(await resumed.history.count == 2)
        try await Self.drive(resumed, rounds: 3...4)

        let (a, b) = (await uninterrupted.currentModel.parameters, await resumed.currentModel.parameters)
        let differing = zip(a.values, b.values).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(differing == 0, "\(differing) of \(a.values.count) values differ")
        #expect(await uninterrupted.history.map(\.modelVersion) == (await resumed.history.map(\.modelVersion)))
        // Without its state file the folder is refused, naming the file, not resumed with fresh moments.
        let lost = try Fixtures.temporaryFolder()
        for name in try FileManager.default.contentsOfDirectory(atPath: first) where name != "lock" && name != "round-002.server-state" {
            try FileManager.default.copyItem(atPath: first + "/" + name, toPath: lost + "/" + name)
        }
        let error = #expect(throws: StateFolderError.self) { _ = try Self.coordinator(server, folder: lost) }
        #expect(
            error?.message.contains("round-002.server-state: cannot read round 2's server optimiser state") == true, "\(String(describing: error))")
    }

    @Test func aStateFolderOfAnotherServerOptimiserIsRefusedByName() async throws {
        let folder = try Fixtures.temporaryFolder()
        try await Self.drive(try Self.coordinator(ServerOptimizer(rule: .fedadam), folder: folder), rounds: 1...1)
        for other in [ServerOptimizer.Rule.fedyogi, .fedavg] {
            // A copy each: a folder's lock is released when its store goes, but a child process
            // another test spawns at that moment holds the lock's descriptor until it execs.
            let copy = try Fixtures.temporaryFolder()
            for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name != "lock" {
                try FileManager.default.copyItem(atPath: folder + "/" + name, toPath: copy + "/" + name)
            }
            let error = #expect(throws: StateFolderError.self) { _ = try Self.coordinator(ServerOptimizer(rule: other), folder: copy) }
            #expect(error?.message.contains("aggregated by another server optimiser") == true, "\(String(describing: error))")
        }
    }

    @Test func fedYogiAndFedAdagradFollowTheirSecondMomentRulesOverTwoRounds() throws {
        let layout = ParameterLayout([TensorSpec(name: "bias", shape: [1])])
        func round(_ d: Float) -> UpdateAccumulator {
            var accumulator = UpdateAccumulator(layout: layout)
            accumulator.add(
                ClientUpdate(client: "a", exampleCount: 1, delta: SparseWeights(layout: layout, tensors: [.init(rows: nil, values: [d])])))
            return accumulator
        }
        let (eta, b1, b2, tau) = (0.01, 0.9, 0.99, 1e-4)
        for rule in [FedOpt.Rule.yogi, .adagrad] {
            var strategy = FedOpt(rule: rule, learningRate: Float(eta), beta1: Float(b1), beta2: Float(b2), tau: Float(tau))
            var model = Weights(zerosLike: layout)
            var (m, v, x) = (0.0, 0.0, 0.0)
            // A large delta, then a small one: Yogi's v falls by (1 - beta2) d^2 when v > d^2.
            for d in [0.5, 0.01] {
                _ = strategy.aggregate(round(Float(d)), into: &model)
                m = b1 * m + (1 - b1) * d
                v = rule == .adagrad ? v + d * d : v - (1 - b2) * d * d * (v - d * d > 0 ? 1 : v - d * d < 0 ? -1 : 0)
                x += eta * m / (v.squareRoot() + tau)
                #expect(abs(Double(model.values[0]) - x) <= 2e-3 * abs(x), "\(rule) after d = \(d): \(model.values[0]) vs \(x)")
            }
        }
    }

    @Test func fedAdamTakesThePapersStepAndLeavesUntouchedRowsWhereTheyWere() throws {
        let layout = ParameterLayout([TensorSpec(name: "item_embedding", shape: [4, 2]), TensorSpec(name: "bias", shape: [2])])
        var accumulator = UpdateAccumulator(layout: layout, tables: ["item_embedding"])
        let delta = SparseWeights(layout: layout, tensors: [.init(rows: [2], values: [0.02, -0.01]), .init(rows: nil, values: [0.004, 0])])
        accumulator.add(ClientUpdate(client: "a", exampleCount: 3, delta: delta))
        var strategy = FedOpt(rule: .adam, learningRate: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-4)
        var model = Weights(layout: layout, values: [0, 0, 1, 1, 2, 2, 3, 3, 0.5, 0.5])
        guard case .added(let step) = strategy.aggregate(accumulator, into: &model) else {
            Issue.record("no step")
            return
        }
        #expect(step.tensors[0].rows == [2])
        // m = 0.1 d, v = 0.01 d^2: the step is eta * 0.1 d / (0.1 |d| + tau).
        for (got, d) in zip(step.tensors[0].values + step.tensors[1].values, [0.02, -0.01, 0.004, 0] as [Double]) {
            let expected = 0.01 * 0.1 * d / (0.1 * abs(d) + 1e-4)
            #expect(abs(Double(got) - expected) <= 1e-3 * abs(expected) + 1e-12, "\(got) vs \(expected)")
        }
        #expect(Array(model.values[0..<4]) == [0, 0, 1, 1])
        #expect(Array(model.values[6..<8]) == [3, 3])
    }
}
