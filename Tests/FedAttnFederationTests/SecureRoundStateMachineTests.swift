import FedAttnFederation
import FedAttnModel
import FedAttnSecAgg
import Logging
import Testing

/// A secure round's phases in the pure state machine: each waits for those that answered
/// the one before, each has its own deadline, and too few answers retry the round.
struct SecureRoundStateMachineTests {
    static let phaseTimeout: Duration = .seconds(20)

    static func machine(_ clients: [String]) throws -> (RoundStateMachine, [RoundAction]) {
        var config = CoordinatorConfig(rounds: 2, minClients: clients.count, quorum: 1, roundTimeout: .seconds(300))
        config.secureAggregation = SecureAggregationSettings(phaseTimeout: phaseTimeout)
        var machine = RoundStateMachine(config: config, version: "v0")
        var actions: [RoundAction] = []
        for client in clients { actions += try machine.handle(.joined(client: client, connection: "conn-\(client)", trainExamples: 100), at: .zero) }
        return (machine, actions)
    }

    static func answer(_ client: String, _ phase: SecurePhase, attempt: Int = 1) -> RoundEvent {
        .secure(
            SecureArrival(
                client: client, round: 1, attempt: attempt, phase: phase, bytes: 10, baseVersion: "v0", examples: phase == .advertise ? 100 : 0,
                trainSeconds: 1))
    }

    static func closed(_ actions: [RoundAction]) -> [SecurePhase] {
        actions.compactMap { if case .secureClose(_, let phase, _) = $0 { phase } else { nil } }
    }

    @Test func everyPhaseClosesInTurnAndTheSumIsOfThoseWhoseValuesArrived() throws {
        let clients = ["a", "b", "c", "d", "e"]
        var (machine, actions) = try Self.machine(clients)
        guard case .secureBegin(let plan) = actions.last else { Issue.record("no secure round began: \(actions)"); return }
        #expect(Set(plan.ids.keys) == Set(clients) && Set(plan.ids.values) == Set(0..<5) && plan.threshold == 3)
        guard case .train(1, "v0", let trainPlan) = machine.task(for: "c"), let secure = trainPlan.secure else {
            Issue.record("c has no secure training task")
            return
        }
        #expect(secure.id == plan.ids["c"] && secure.clients == 5 && abs(secure.weight - 0.2) < 1e-6)
        #expect(secure.neighbours == plan.graph.neighbours[secure.id] && secure.session == plan.session)
        // Whole uploads are refused outright.
        #expect(throws: CoordinatorError.self) { try machine.checkUpdateWanted(client: "a", round: 1, baseVersion: "v0") }
        var now: Duration = .seconds(1)
        var all: [RoundAction] = []
        for client in clients { all += try machine.handle(Self.answer(client, .advertise), at: now) }
        #expect(Self.closed(all) == [.advertise])
        guard case .secure(let task) = machine.task(for: "a"), task.phase == .shareKeys else { Issue.record("no share-keys task"); return }
        // An answer for a phase not under way changes nothing.
        #expect(throws: CoordinatorError.self) { try machine.handle(Self.answer("a", .maskValues), at: now) }
        for phase in [SecurePhase.shareKeys, .maskIndicators, .unmaskIndicators] {
            for client in clients { all += try machine.handle(Self.answer(client, phase), at: now) }
        }
        #expect(Self.closed(all) == [.advertise, .shareKeys, .maskIndicators, .unmaskIndicators])
        // e never sends its masked values: the phase closes at its own deadline without it.
        for client in clients.dropLast() { all += try machine.handle(Self.answer(client, .maskValues), at: now) }
        #expect(machine.nextDeadline == now + Self.phaseTimeout)
        now += Self.phaseTimeout
        all += try machine.handle(.tick, at: now)
        #expect(Self.closed(all).last == .maskValues)
        #expect(machine.task(for: "e") == .wait(retryAfter: .zero))
        // d drops after masking: unmasking goes on with the rest, and d stays in the sum.
        all += try machine.handle(.left(client: "d", connection: "conn-d"), at: now)
        for client in ["a", "b", "c"] { all += try machine.handle(Self.answer(client, .unmaskValues), at: now) }
        guard case .aggregate(let outcome) = all.last else { Issue.record("no aggregation: \(all.suffix(3))"); return }
        #expect(outcome.participants.sorted() == ["a", "b", "c", "d"] && outcome.examples == 400)
    }

    /// The owner's randomness, not the join order, places silos in the graph.
    @Test func idsGraphAndSessionFollowTheOwnersRandomness() throws {
        func plan(entropy: UInt64) throws -> SecureRoundPlan? {
            var config = CoordinatorConfig(rounds: 1, minClients: 8, quorum: 1)
            config.secureAggregation = SecureAggregationSettings()
            var machine = RoundStateMachine(config: config, version: "v0")
            machine.entropy = entropy
            var actions: [RoundAction] = []
            for client in (0..<8).map({ "s\($0)" }) { actions += try machine.handle(.joined(client: client, connection: client), at: .zero) }
            for case .secureBegin(let plan) in actions { return plan }
            return nil
        }
        let (one, again, other) = (try #require(try plan(entropy: 1)), try #require(try plan(entropy: 1)), try #require(try plan(entropy: 2)))
        #expect(one.ids == again.ids && one.graph == again.graph && one.session == again.session)
        #expect(one.ids != other.ids && one.session != other.session)
    }

    @Test func aPhaseShortOfTheThresholdRetriesTheRoundWithNewKeys() throws {
        let clients = ["a", "b", "c", "d", "e"]
        var (machine, _) = try Self.machine(clients)
        var actions: [RoundAction] = []
        for client in clients { actions += try machine.handle(Self.answer(client, .advertise), at: .seconds(1)) }
        // Only 2 of 5 share keys, under the threshold of 3.
        for client in ["a", "b"] { actions += try machine.handle(Self.answer(client, .shareKeys), at: .seconds(2)) }
        actions = try machine.handle(.tick, at: .seconds(2) + Self.phaseTimeout)
        let retried = actions.contains {
            if case .log(.warning, let line) = $0 { line.contains("share keys phase heard 2 of 5 clients, 3 needed") } else { false }
        }
        #expect(retried, "\(actions)")
        guard case .secureBegin(let plan) = actions.last else { Issue.record("the round did not start again"); return }
        #expect(plan.attempt == 2)
        // A late answer of the first attempt is stale.
        #expect(throws: CoordinatorError.self) { try machine.handle(Self.answer("c", .shareKeys), at: .seconds(30)) }
        guard case .train(1, _, let trainPlan) = machine.task(for: "c") else { Issue.record("c is not asked to train again"); return }
        #expect(trainPlan.secure?.attempt == 2)
    }
}
