import FedAttnFederation
import FedAttnModel
import FedAttnSecAgg
import Testing
import _FedAttnTestSupport

/// The field fault of a connection flood: 300 Joins from distinct names within a second (62 of
/// their connections closed before their Join arrived, so 238 present), each declaring the most
/// examples a coordinator takes, then the two real silos, and round 1. The flood never trains,
/// or answers everything claiming the most; half of it leaves in the middle of the round. The
/// machine (and the coordinator) select, wait, close, sum and move on without a trap, and a
/// declared count past `CoordinatorConfig.maxDeclarableExamples` is refused at Join.
struct ManyMembersTests {
    static let timeout: Duration = .seconds(300)
    /// When "b" joins and round 1 starts; its deadline is `timeout` later.
    static let start: Duration = .seconds(1)
    static let flood = (0..<300).map { "flood-\($0)" }
    /// The flood clients whose connection is still open after the flood (the first 238).
    static let present = Array(flood.prefix(238))

    static func config(secure: Bool = false) -> CoordinatorConfig {
        var config = CoordinatorConfig(
            rounds: 2, minClients: 240, quorum: 2, roundTimeout: timeout, maxTrainExamples: CoordinatorConfig.maxDeclarableExamples)
        if secure { config.secureAggregation = SecureAggregationSettings(phaseTimeout: .seconds(20)) }
        return config
    }

    /// The flood, then "a" and "b" (1,000 examples each); round 1 starts when they join.
    static func flooded(_ config: CoordinatorConfig) throws -> (RoundStateMachine, [RoundAction]) {
        var machine = RoundStateMachine(config: config, version: "v0")
        machine.entropy = 7
        var actions: [RoundAction] = []
        for (i, client) in flood.enumerated() {
            let at = Duration.milliseconds(3 * i)
            // The last 62 connections' closes overtake their Joins.
            if i >= present.count { actions += try machine.handle(.left(client: client, connection: "conn-\(client)"), at: at) }
            actions += try machine.handle(
                .joined(client: client, connection: "conn-\(client)", trainExamples: CoordinatorConfig.maxDeclarableExamples), at: at)
        }
        for client in ["a", "b"] {
            actions += try machine.handle(.joined(client: client, connection: "conn-\(client)", trainExamples: 1_000), at: start)
        }
        return (machine, actions)
    }

    static func update(_ client: String, examples: Int) -> RoundEvent {
        .update(UpdateArrival(client: client, round: 1, baseVersion: "v0", examples: examples, bytes: 100, trainSeconds: 1))
    }

    @Test func aFloodThatNeverTrainsLeavesRoundOneToTheRealSilos() throws {
        var (machine, actions) = try Self.flooded(Self.config())
        #expect(machine.present.count == 240)
        let began = try #require(RoundStateMachineTests.began(actions))
        #expect(began.round == 1 && Set(began.selected) == Set(Self.present + ["a", "b"]))
        actions = []
        for client in ["a", "b"] { actions += try machine.handle(Self.update(client, examples: 1_000), at: .seconds(10)) }
        // Half the flood goes in the middle of the round; the rest stays connected, silent.
        for client in Self.present.prefix(119) {
            actions += try machine.handle(.left(client: client, connection: "conn-\(client)"), at: .seconds(20))
        }
        #expect(RoundStateMachineTests.aggregated(actions) == nil)
        #expect(RoundStateMachineTests.aggregated(try machine.handle(.tick, at: Self.start + Self.timeout - .milliseconds(1))) == nil)
        actions = try machine.handle(.tick, at: Self.start + Self.timeout)
        let outcome = try #require(RoundStateMachineTests.aggregated(actions))
        #expect(outcome.participants == ["a", "b"] && outcome.examples == 2_000)
        #expect(RoundStateMachineTests.logs(actions).contains { $0.contains("closed with 2 of 240 updates (238 missing: ") })
        // Published and evaluated by the real silos alone: the rest of the flood never reports.
        let published = Self.start + Self.timeout + .seconds(1)
        actions = try machine.handle(.published(round: 1, version: "v1"), at: published)
        for client in ["a", "b"] {
            actions += try machine.handle(
                .evaluation(client: client, round: 1, version: "v1", report: EvaluationReport()), at: published + .seconds(1))
        }
        // The evaluation waits for the 119 flood clients still connected, until its deadline.
        #expect(RoundStateMachineTests.records(actions).isEmpty)
        actions += try machine.handle(.tick, at: published + Self.timeout)
        let record = try #require(RoundStateMachineTests.records(actions).first)
        #expect(record.round == 1 && record.evaluatedClients == 2)
        // 121 connected now, under the 240 round 2 needs: it waits, it does not trap.
        #expect(RoundStateMachineTests.logs(actions).contains("round 2 waits for clients: 121 of 240 needed connected"))
        #expect(machine.task(for: "a") == .wait(retryAfter: .zero))
    }

    /// Every flood client answers, each claiming the most examples a coordinator takes: the
    /// round's sum of 238 x 2^40 + 2,000 examples holds.
    @Test func aFloodThatTrainsClaimingTheMostSumsWithoutOverflow() throws {
        var (machine, _) = try Self.flooded(Self.config())
        var actions: [RoundAction] = []
        for client in Self.present {
            actions += try machine.handle(Self.update(client, examples: CoordinatorConfig.maxDeclarableExamples), at: .seconds(5))
        }
        for client in ["a", "b"] { actions += try machine.handle(Self.update(client, examples: 1_000), at: .seconds(6)) }
        let outcome = try #require(RoundStateMachineTests.aggregated(actions))
        #expect(outcome.participants.count == 240 && outcome.examples == 238 * CoordinatorConfig.maxDeclarableExamples + 2_000)
    }

    /// With secure aggregation: 240 selected; the flood never sends its keys, so the round is
    /// short of the 3 a sum needs at its deadline and is retried, over those still connected.
    @Test func aSecureRoundOfAFloodThatNeverTrainsIsRetried() throws {
        var (machine, actions) = try Self.flooded(Self.config(secure: true))
        guard case .secureBegin(let plan) = actions.last else { Issue.record("no secure round began"); return }
        #expect(plan.ids.count == 240 && plan.graph.neighbours.count == 240 && plan.threshold == 9)
        actions = []
        for client in ["a", "b"] {
            actions += try machine.handle(
                .secure(
                    SecureArrival(
                        client: client, round: 1, attempt: 1, phase: .advertise, bytes: 10, baseVersion: "v0", examples: 1_000, trainSeconds: 1)),
                at: .seconds(10))
        }
        for client in Self.present.prefix(119) {
            actions += try machine.handle(.left(client: client, connection: "conn-\(client)"), at: .seconds(20))
        }
        actions = try machine.handle(.tick, at: Self.start + Self.timeout)
        #expect(RoundStateMachineTests.logs(actions).contains { $0.contains("2 of 240 clients sent their keys, 9 needed") })
        // Retried over those connected (121), under minClients: the round waits for clients.
        #expect(RoundStateMachineTests.logs(actions).contains { $0.contains("round 1 waits for clients") })
    }

    /// With secure aggregation, every flood client takes part in every phase claiming the most
    /// examples: the sum is of all 240, its example count 238 x 2^40 + 2,000.
    @Test func aSecureRoundOfAFloodThatAnswersEveryPhaseSumsWithoutOverflow() throws {
        var (machine, _) = try Self.flooded(Self.config(secure: true))
        let everyone = Self.present + ["a", "b"]
        var actions: [RoundAction] = []
        for phase in SecurePhase.allCases {
            for client in everyone {
                let examples = phase != .advertise ? 0 : client.hasPrefix("flood") ? CoordinatorConfig.maxDeclarableExamples : 1_000
                actions += try machine.handle(
                    .secure(
                        SecureArrival(
                            client: client, round: 1, attempt: 1, phase: phase, bytes: 10, baseVersion: "v0", examples: examples, trainSeconds: 1)),
                    at: .seconds(10))
            }
        }
        let outcome = try #require(RoundStateMachineTests.aggregated(actions))
        #expect(outcome.participants.count == 240 && outcome.examples == 238 * CoordinatorConfig.maxDeclarableExamples + 2_000)
    }

    /// A coordinator configured past the bound still refuses a count over it at Join.
    @Test func aDeclaredCountOverTheBoundIsRefusedWhateverTheConfiguration() async throws {
        let coordinator = try Coordinator(
            modelConfig: Fixtures.tinyConfig, config: CoordinatorConfig(rounds: 1, minClients: 2, maxTrainExamples: .max),
            initialModel: try Fixtures.tinyModel(), clock: ManualClock())
        await #expect(throws: CoordinatorError.self) {
            try await coordinator.join(
                client: "huge", protocolVersion: Coordinator.protocolVersion, trainExamples: CoordinatorConfig.maxDeclarableExamples + 1)
        }
        try await coordinator.join(
            client: "most", protocolVersion: Coordinator.protocolVersion, trainExamples: CoordinatorConfig.maxDeclarableExamples)
        #expect(await coordinator.connectedClients == ["most"])
    }
}
