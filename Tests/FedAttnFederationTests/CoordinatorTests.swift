import FedAttnFederation
import FedAttnModel
import Foundation
import Synchronization
import Testing
import _FedAttnTestSupport

/// The actor around the round state machine: long polls woken by changes rather than by a
/// sleep loop, membership from connections, the state folder's lock and its records.
struct CoordinatorTests {
    static func coordinator(minClients: Int = 2, rounds: Int = 2, store: StateStore? = nil, log: LogLines = LogLines()) throws -> Coordinator {
        try Coordinator(
            modelConfig: Fixtures.tinyConfig, config: CoordinatorConfig(rounds: rounds, minClients: minClients),
            initialModel: try Fixtures.tinyModel(),
            store: store, logger: log.logger)
    }

    @Test func aWaitingClientHearsOfANewRoundAtOnce() async throws {
        let coordinator = try Self.coordinator()
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        let started = ContinuousClock.now
        async let task = coordinator.nextTask(client: "a", longPoll: .seconds(600))
        await coordinator.waitForWaitingCalls(1)  // the long poll is held
        try await coordinator.join(client: "b", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        guard case .train(1, _, _) = try await task else { Issue.record("no round"); return }
        #expect(ContinuousClock.now - started < .seconds(300))  // woken by the join, not by the 600 s limit
        #expect(coordinator.wakeups == 1)
    }

    @Test func anIdleLongPollWakesOncePerPollNotInALoop() async throws {
        let coordinator = try Self.coordinator()
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
        for _ in 0..<3 {
            #expect(try await coordinator.nextTask(client: "a", longPoll: .milliseconds(300)) == .wait(retryAfter: .milliseconds(20)))
        }
        #expect(coordinator.wakeups <= 3)
    }

    @Test func aClosedConnectionLeavesAndANewOneRejoins() async throws {
        let lines = LogLines()
        let coordinator = try Self.coordinator(log: lines)
        try await coordinator.join(client: "a", protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000, connection: "one")
        await coordinator.leave(client: "a", connection: "one")
        #expect(await coordinator.connectedClients.isEmpty)
        await coordinator.reconnected(client: "a", connection: "two")
        await coordinator.reconnected(client: "stranger", connection: "three")  // never joined: nothing
        #expect(await coordinator.connectedClients == ["a"])
        #expect(lines.all == ["a joined (1 of 2 needed connected)", "a left (0 of 2 needed connected)", "a rejoined (1 of 2 needed connected)"])
    }

    @Test func aSecondStoreOnTheSameFolderIsRefusedWhileTheFirstLives() throws {
        let folder = try Fixtures.temporaryFolder()
        var first: StateStore? = try StateStore(folder: folder)
        let error = #expect(throws: StateStoreError.self) { _ = try StateStore(folder: folder) }
        #expect(error.map { "\($0)" }?.contains("is in use by another coordinator (process \(getpid()))") == true)
        #expect(first != nil)
        first = nil
        _ = try StateStore(folder: folder)
    }

    @Test func aPublishedRoundIsNeverRewritten() throws {
        let store = try StateStore(folder: try Fixtures.temporaryFolder())
        let model = try Fixtures.tinyModel()
        try store.publish(round: 1, version: "v1", model: model, participants: ["a"], examples: 1, bytesUpPerClient: 1, trainSecondsMax: 0)
        #expect(throws: StateStoreError.self) {
            try store.publish(round: 1, version: "v2", model: model, participants: ["b"], examples: 2, bytesUpPerClient: 1, trainSecondsMax: 0)
        }
        #expect(try store.rounds().map(\.version) == ["v1"])
    }
}
