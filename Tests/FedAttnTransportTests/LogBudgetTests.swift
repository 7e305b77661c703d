import FedAttnFederation
import FedAttnProtocol
import FedAttnTransport
import GRPCCore
import Testing
import _FedAttnTestSupport

/// A peer refused in a loop cannot flood the coordinator's log.
struct LogBudgetTests {
    static let calls = 60

    @Test func aSourceWritesItsLinesPerWindowAndThenSaysHowManyWereHeldBack() {
        let budget = LogBudget(lines: 3, window: .seconds(10))
        let start = ContinuousClock.now
        #expect((0..<3).map { _ in budget.allow("peer-a", at: start) } == [0, 0, 0])
        #expect(budget.allow("peer-a", at: start + .seconds(1)) == nil)
        #expect(budget.allow("peer-a", at: start + .seconds(2)) == nil)
        // Another source has its own budget.
        #expect(budget.allow("peer-b", at: start + .seconds(2)) == 0)
        // The next window: the first line says two were held back.
        #expect(budget.allow("peer-a", at: start + .seconds(10)) == 2)
        #expect(budget.allow("peer-a", at: start + .seconds(10)) == 0)
    }

    @Test func aClientRefusedInALoopWritesAtMostItsBudgetToTheLog() async throws {
        let log = LogLines()
        let coordinator = try WireFaultTests.coordinator(CoordinatorConfig(rounds: 1, minClients: 1))
        // The budget's 20 lines in a window of an hour: however slow the machine, the 60
        // calls fall in one window.
        let budget = LogBudget(lines: 20, window: .seconds(3_600))
        try await WireFaultTests.withServer(coordinator, log: log, logBudget: budget) { connect in
            try await connect("flood") { client in
                let federation = Fedattn_V1_Federation.Client(wrapping: client)
                for _ in 0..<Self.calls {
                    // Never joined: every call is refused.
                    await #expect(throws: RPCError.self) { _ = try await federation.nextTask(.init()) }
                }
                client.beginGracefulShutdown()
            }
        }
        let refusals = log.all.filter { $0.hasPrefix("refused NextTask from 'flood'") }
        #expect(refusals.count == budget.lines, "\(refusals.count) lines")
    }
}
