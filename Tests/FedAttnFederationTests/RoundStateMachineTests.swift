import FedAttnFederation
import FedAttnModel
import Testing

/// The round lifecycle driven with plain values and a fake clock: no actor, no socket, no sleep.
struct RoundStateMachineTests {
    static let timeout: Duration = .seconds(300)

    /// A machine with `clients` joined (each on connection "conn-NAME"), at time zero.
    static func machine(
        _ clients: [String] = ["a", "b", "c"], rounds: Int = 3, minClients: Int = 3, quorum: Int = 2, clientsPerRound: Int = 0
    ) throws -> (RoundStateMachine, [RoundAction]) {
        var machine = RoundStateMachine(
            config: CoordinatorConfig(
                rounds: rounds, minClients: minClients, clientsPerRound: clientsPerRound, quorum: quorum, roundTimeout: timeout),
            version: "v0")
        var actions: [RoundAction] = []
        for client in clients { actions += try machine.handle(.joined(client: client, connection: "conn-\(client)"), at: .zero) }
        return (machine, actions)
    }

    static func update(_ client: String, round: Int = 1, base: String = "v0", examples: Int = 10) -> RoundEvent {
        .update(UpdateArrival(client: client, round: round, baseVersion: base, examples: examples, bytes: 100, trainSeconds: 1))
    }

    static func began(_ actions: [RoundAction]) -> (round: Int, selected: [String])? {
        for case .beginTraining(let round, let selected, _) in actions { return (round, selected) }
        return nil
    }

    static func aggregated(_ actions: [RoundAction]) -> RoundOutcome? {
        for case .aggregate(let outcome) in actions { return outcome }
        return nil
    }

    static func records(_ actions: [RoundAction]) -> [RoundRecord] {
        actions.compactMap { if case .record(let record) = $0 { record } else { nil } }
    }

    static func logs(_ actions: [RoundAction]) -> [String] {
        actions.compactMap { if case .log(_, let line) = $0 { line } else { nil } }
    }

    /// Publishes round `round` as `version` and has every present client evaluate it.
    static func publishAndEvaluate(_ machine: inout RoundStateMachine, round: Int, version: String, at now: Duration) throws -> [RoundAction] {
        var actions = try machine.handle(.published(round: round, version: version), at: now)
        for client in machine.present {
            actions += try machine.handle(.evaluation(client: client, round: round, version: version, report: EvaluationReport()), at: now)
        }
        return actions
    }

    @Test func aRoundStartsOnceEnoughClientsJoinAndNamesThem() throws {
        let (machine, actions) = try Self.machine()
        let logs = Self.logs(actions)
        #expect(logs.first == "a joined (1 of 3 needed connected)")
        #expect(logs.contains("c joined (3 connected)"))
        #expect(Self.began(actions)?.round == 1)
        #expect(Set(Self.began(actions)?.selected ?? []) == ["a", "b", "c"])
        guard case .train(1, "v0", _) = machine.task(for: "b") else { Issue.record("b has no training task"); return }
        #expect(machine.nextDeadline == Self.timeout)
    }

    @Test func noRoundStartsBelowTheMinimum() throws {
        let (machine, actions) = try Self.machine(["a", "b"])
        #expect(Self.began(actions) == nil)
        #expect(machine.task(for: "a") == .wait(retryAfter: .zero))
        #expect(machine.nextDeadline == nil)
    }

    @Test func aRoundClosesWhenEverySelectedClientAnswered() throws {
        var (machine, _) = try Self.machine()
        var actions: [RoundAction] = []
        for client in ["a", "b", "c"] { actions += try machine.handle(Self.update(client), at: .seconds(10)) }
        #expect(actions.filter { if case .fold = $0 { true } else { false } }.count == 3)
        let outcome = try #require(Self.aggregated(actions))
        #expect(outcome.participants == ["a", "b", "c"])
        #expect(outcome.examples == 30)
        #expect(machine.task(for: "a") == .wait(retryAfter: .zero))  // publishing: nothing to do
        let after = try Self.publishAndEvaluate(&machine, round: 1, version: "v1", at: .seconds(12))
        let record = try #require(Self.records(after).first)
        #expect(record.round == 1 && record.modelVersion == "v1" && record.evaluatedClients == 3)
        #expect(record.seconds == 12)
        #expect(Self.began(after)?.round == 2)
        guard case .train(2, "v1", _) = machine.task(for: "a") else { Issue.record("round 2 not open"); return }
    }

    @Test func atTheDeadlineARoundClosesWithAQuorum() throws {
        var (machine, _) = try Self.machine()
        _ = try machine.handle(Self.update("a"), at: .seconds(1))
        _ = try machine.handle(Self.update("b"), at: .seconds(2))
        #expect(Self.aggregated(try machine.handle(.tick, at: Self.timeout - .milliseconds(1))) == nil)
        let actions = try machine.handle(.tick, at: Self.timeout)
        #expect(Self.aggregated(actions)?.participants == ["a", "b"])
        #expect(Self.logs(actions).contains("round 1: closed with 2 of 3 updates (1 missing: c)"))
    }

    @Test func atTheDeadlineWithoutAQuorumTheRoundIsRetriedAndTheRetryRecorded() throws {
        var (machine, _) = try Self.machine()
        _ = try machine.handle(Self.update("a"), at: .seconds(1))
        let actions = try machine.handle(.tick, at: Self.timeout)
        #expect(Self.aggregated(actions) == nil)
        #expect(Self.began(actions)?.round == 1)
        #expect(machine.nextDeadline == Self.timeout * 2)
        // The retried round takes a's update again: it is a new attempt.
        guard case .train(1, "v0", _) = machine.task(for: "a") else { Issue.record("a not asked again"); return }
        for client in ["a", "b", "c"] { _ = try machine.handle(Self.update(client), at: Self.timeout + .seconds(1)) }
        let done = try Self.publishAndEvaluate(&machine, round: 1, version: "v1", at: Self.timeout + .seconds(2))
        let record = try #require(Self.records(done).first)
        #expect(record.retries == ["round 1: 1 of 3 updates by the deadline, quorum 2"])
        // Its seconds run from the first attempt's start, not the last one's.
        #expect(record.seconds == Double((Self.timeout + .seconds(2)) / .milliseconds(1)) / 1_000)
    }

    @Test func staleDuplicateAndUnselectedUpdatesAreRefusedAndChangeNothing() throws {
        var (machine, _) = try Self.machine(["a", "b", "c", "d"], minClients: 4, clientsPerRound: 3)
        let unselected = try #require(["a", "b", "c", "d"].first { machine.task(for: $0) == .wait(retryAfter: .zero) })
        let selected = try #require(["a", "b", "c", "d"].first { $0 != unselected })
        func refusal(_ event: RoundEvent) -> String? {
            do {
                _ = try machine.handle(event, at: .seconds(1))
                return nil
            } catch {
                return error.message(if: .stale) ?? "not stale: \(error)"
            }
        }
        #expect(refusal(Self.update(selected, round: 2))?.contains("round 1 is collecting") == true)
        #expect(refusal(Self.update(selected, base: "v9"))?.contains("not the current v0") == true)
        #expect(refusal(Self.update(unselected))?.contains("was not selected") == true)
        #expect(refusal(Self.update(selected)) == nil)
        #expect(refusal(Self.update(selected))?.contains("already sent") == true)
        #expect(refusal(.evaluation(client: selected, round: 1, version: "v0", report: EvaluationReport())) != nil)
        let other = try #require(["a", "b", "c", "d"].first { $0 != unselected && $0 != selected })
        #expect(throws: CoordinatorError.invalidUpdate("update from '\(other)' must carry at least one example, got 0")) {
            _ = try machine.handle(Self.update(other, examples: 0), at: .seconds(1))
        }
        // Every refusal names the client it refuses.
        #expect(refusal(Self.update(selected, round: 2))?.contains("update from '\(selected)'") == true)
        #expect(refusal(Self.update(selected, base: "v9"))?.contains("update from '\(selected)'") == true)
        #expect(refusal(.evaluation(client: selected, round: 1, version: "v0", report: EvaluationReport()))?.contains("'\(selected)'") == true)
    }

    @Test func aClientThatLeavesIsNotWaitedForNorSelectedUntilItRejoins() throws {
        var (machine, _) = try Self.machine()
        _ = try machine.handle(.joined(client: "d", connection: "conn-d"), at: .seconds(1))  // joins after round 1 began
        let left = try machine.handle(.left(client: "c", connection: "conn-c"), at: .seconds(5))
        #expect(Self.logs(left) == ["c left (3 connected); round 1 no longer waits for it"])
        _ = try machine.handle(Self.update("a"), at: .seconds(6))
        let closing = try machine.handle(Self.update("b"), at: .seconds(7))
        #expect(Self.aggregated(closing)?.participants == ["a", "b"])  // at once, not at the deadline
        let next = try Self.publishAndEvaluate(&machine, round: 1, version: "v1", at: .seconds(8))
        #expect(Set(Self.began(next)?.selected ?? []) == ["a", "b", "d"])
        #expect(machine.present == ["a", "b", "d"])
        // c comes back on a new connection: present again, selected from the next round on.
        let back = try machine.handle(.joined(client: "c", connection: "conn-c2"), at: .seconds(9))
        #expect(Self.logs(back) == ["c rejoined (4 connected)"])
        #expect(machine.present == ["a", "b", "c", "d"])
        // The close of c's old connection, heard late, changes nothing.
        #expect(try machine.handle(.left(client: "c", connection: "conn-c"), at: .seconds(9)).isEmpty)
        #expect(machine.present == ["a", "b", "c", "d"])
    }

    @Test func aSelectedClientThatReconnectsMidRoundIsStillExpected() throws {
        var (machine, _) = try Self.machine()
        _ = try machine.handle(.left(client: "c", connection: "conn-c"), at: .seconds(1))
        _ = try machine.handle(.joined(client: "c", connection: "conn-c2"), at: .seconds(2))
        _ = try machine.handle(Self.update("a"), at: .seconds(3))
        #expect(Self.aggregated(try machine.handle(Self.update("b"), at: .seconds(4))) == nil)  // still waits for c
        #expect(Self.aggregated(try machine.handle(Self.update("c"), at: .seconds(5)))?.participants == ["a", "b", "c"])
    }

    @Test func belowTheMinimumTheNextRoundWaitsForClients() throws {
        var (machine, _) = try Self.machine()
        for client in ["a", "b", "c"] { _ = try machine.handle(Self.update(client), at: .seconds(1)) }
        _ = try machine.handle(.left(client: "b", connection: "conn-b"), at: .seconds(2))
        let actions = try Self.publishAndEvaluate(&machine, round: 1, version: "v1", at: .seconds(3))
        #expect(Self.records(actions).count == 1)
        #expect(Self.began(actions) == nil)
        #expect(Self.logs(actions).contains("round 2 waits for clients: 2 of 3 needed connected"))
        let back = try machine.handle(.joined(client: "b", connection: "conn-b2"), at: .seconds(4))
        #expect(Self.began(back)?.round == 2)
    }

    @Test func whenEverySelectedClientLeftWithoutAQuorumTheRoundIsRetriedAtOnce() throws {
        var (machine, _) = try Self.machine(["a", "b"], minClients: 2)
        _ = try machine.handle(.joined(client: "c", connection: "conn-c"), at: .seconds(1))  // not selected for round 1
        _ = try machine.handle(Self.update("a"), at: .seconds(1))
        let actions = try machine.handle(.left(client: "b", connection: "conn-b"), at: .seconds(2))
        #expect(Set(Self.began(actions)?.selected ?? []) == ["a", "c"])
        #expect(Self.logs(actions).contains("round 1: 1 of 2 updates before every other selected client left (1 left), quorum 2; retrying the round"))
    }

    @Test func anEvaluationDoesNotWaitForAClientThatLeft() throws {
        var (machine, _) = try Self.machine()
        for client in ["a", "b", "c"] { _ = try machine.handle(Self.update(client), at: .seconds(1)) }
        _ = try machine.handle(.published(round: 1, version: "v1"), at: .seconds(2))
        for client in ["a", "b"] {
            _ = try machine.handle(.evaluation(client: client, round: 1, version: "v1", report: EvaluationReport()), at: .seconds(3))
        }
        let actions = try machine.handle(.left(client: "c", connection: "conn-c"), at: .seconds(4))
        #expect(Self.records(actions).first?.evaluatedClients == 2)
    }

    @Test func aFailedStoreIsLoggedOnceAndRetriedWithBackoffWithoutRetraining() throws {
        var (machine, _) = try Self.machine()
        var actions: [RoundAction] = []
        for client in ["a", "b", "c"] { actions += try machine.handle(Self.update(client), at: .seconds(1)) }
        let outcome = try #require(Self.aggregated(actions))
        var now: Duration = .seconds(2)
        var logged: [String] = []
        var attempts = 1
        for failure in 1...5 {
            let failed = try machine.handle(.storeFailed(round: 1, reason: "No space left on device"), at: now)
            logged += Self.logs(failed)
            #expect(Self.began(failed) == nil)
            let wait = min(Duration.milliseconds(500) * (1 << (failure - 1)), .seconds(30))
            #expect(machine.nextDeadline == now + wait)
            #expect(try machine.handle(.tick, at: now + wait - .milliseconds(1)).isEmpty)
            now += wait
            #expect(try machine.handle(.tick, at: now) == [.storeAgain(outcome)])
            attempts += 1
        }
        #expect(logged.count == 1)
        #expect(logged.first?.contains("cannot store the new version: No space left on device") == true)
        #expect(machine.task(for: "a") == .wait(retryAfter: .zero))  // nobody retrains meanwhile
        let done = try Self.publishAndEvaluate(&machine, round: 1, version: "v1", at: now)
        #expect(
            Self.records(done).first?.retries == [
                "round 1: the new version was stored at attempt \(attempts) (first failure: No space left on device)"
            ])
    }

    @Test func aFailedAggregationRetrainsTheRound() throws {
        var (machine, _) = try Self.machine()
        for client in ["a", "b", "c"] { _ = try machine.handle(Self.update(client), at: .seconds(1)) }
        let actions = try machine.handle(.aggregationFailed(round: 1, reason: "aggregation published nothing"), at: .seconds(2))
        #expect(Self.began(actions)?.round == 1)
    }

    @Test func resumedWithAnUnevaluatedRoundItEvaluatesItThenTrainsTheNext() throws {
        let outcome = RoundOutcome(round: 2, participants: ["a"], examples: 5, bytesUpPerClient: 10, trainSecondsMax: 1)
        var machine = RoundStateMachine(
            config: CoordinatorConfig(rounds: 3, minClients: 1, roundTimeout: Self.timeout), version: "v2", completedRounds: 1, unevaluated: outcome)
        _ = try machine.handle(.joined(client: "a", connection: "x"), at: .zero)
        #expect(machine.task(for: "a") == .evaluate(round: 2, modelVersion: "v2"))
        let actions = try machine.handle(.evaluation(client: "a", round: 2, version: "v2", report: EvaluationReport()), at: .seconds(1))
        #expect(Self.records(actions).first?.round == 2)
        #expect(Self.began(actions)?.round == 3)
    }

    @Test func resumedAfterTheLastRoundItIsDoneAtOnce() throws {
        var machine = RoundStateMachine(config: CoordinatorConfig(rounds: 3), version: "v3", completedRounds: 3)
        #expect(machine.isDone)
        _ = try machine.handle(.joined(client: "a", connection: "x"), at: .zero)
        #expect(machine.task(for: "a") == .done(keptVersion: nil))
    }

    @Test func theLastRoundFinishesTheFederation() throws {
        var (machine, _) = try Self.machine(rounds: 1)
        for client in ["a", "b", "c"] { _ = try machine.handle(Self.update(client), at: .seconds(1)) }
        let actions = try Self.publishAndEvaluate(&machine, round: 1, version: "v1", at: .seconds(2))
        #expect(actions.last == .finish)
        #expect(machine.isDone && machine.nextDeadline == nil)
    }

    @Test func aCloseThatOvertakesItsJoinLeavesTheClientAbsent() throws {
        var (machine, _) = try Self.machine(["a", "b"], minClients: 3)
        _ = try machine.handle(.left(client: "c", connection: "conn-c"), at: .seconds(1))  // heard before c's join
        let joined = try machine.handle(.joined(client: "c", connection: "conn-c", trainExamples: 10), at: .seconds(1))
        #expect(Self.began(joined) == nil)
        #expect(machine.present == ["a", "b"] && machine.isMember("c"))
        let back = try machine.handle(.joined(client: "c", connection: "conn-c2"), at: .seconds(2))
        #expect(Self.began(back)?.round == 1)
    }

    @Test func aClientThatNeverJoinedIsToldSo() throws {
        let (machine, _) = try Self.machine()
        #expect(throws: CoordinatorError.notJoined("mallory")) { try machine.checkUpdateWanted(client: "mallory", round: 1, baseVersion: "v0") }
    }
}
