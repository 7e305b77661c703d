import FedAttnData
import FedAttnFederation
import FedAttnModel
import Foundation
import Synchronization
import Testing
import _FedAttnTestSupport

/// A link that holds one client's first upload until the round it was for has closed, as a
/// slow silo (or a coordinator restart while it trained) would.
struct LateFirstUpload: FederationLink {
    let inner: InProcessLink
    let held = Flag()

    func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo {
        try await inner.join(protocolVersion: protocolVersion, trainExamples: trainExamples)
    }
    func nextTask(lastRound: Int) async throws -> FederationTask { try await inner.nextTask(lastRound: lastRound) }
    func downloadModel(version: String, base: String?) async throws -> DownloadedPayload {
        try await inner.downloadModel(version: version, base: base)
    }
    func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws {
        try await inner.reportEvaluation(round: round, version: version, report: report)
    }

    func sendSecure(_ reply: SecureReply) async throws { try await inner.sendSecure(reply) }

    func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        if held.takeFirst() { _ = await inner.coordinator.history(beyond: 0) }
        return try await inner.uploadUpdate(round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
    }
}

/// Strings a test collects from concurrent code.
final class Recorded: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func add(_ line: String) { lines.withLock { $0.append(line) } }
}

/// True the first time it is asked, then false.
final class Flag: Sendable {
    private let first = Mutex(true)
    func takeFirst() -> Bool {
        first.withLock { value in
            defer { value = false }; return value
        }
    }
}

struct ParticipantTests {
    @Test func aLateUpdateIsDroppedAndTheClientCarriesOn() async throws {
        let log = SyntheticGenerator(config: Fixtures.syntheticData).generate()
        let parts = SiloSplitter(silos: 2, scheme: .iid, seed: 1).split(log).map { ExampleBuilder().build($0) }
        // Deadlines pass when the test says: round 1's (its training, then its evaluation) once
        // the fast silo has answered, later rounds' never, so they wait for both silos however
        // loaded the machine is.
        let clock = ManualClock()
        let coordinator = try Coordinator(
            modelConfig: Fixtures.syntheticConfig, config: CoordinatorConfig(rounds: 3, minClients: 2, quorum: 1, roundTimeout: .seconds(2)),
            initialModel: try AttentionModel(config: Fixtures.syntheticConfig, seed: 0), clock: clock)
        let dropped = Recorded()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Participant(train: parts[0].train, test: parts[0].test).run(
                    link: InProcessLink(coordinator: coordinator, client: "fast"), expectedModel: Fixtures.syntheticConfig
                ) { event in
                    switch event {
                    case .uploaded(round: 1, _, _, _, _), .evaluated(round: 1, _, _, _): clock.advance(by: .seconds(2))
                    default: break
                    }
                }
            }
            group.addTask {
                let link = LateFirstUpload(inner: InProcessLink(coordinator: coordinator, client: "slow"))
                try await Participant(train: parts[1].train, test: parts[1].test).run(link: link, expectedModel: Fixtures.syntheticConfig) { event in
                    if case .dropped(let round, _) = event { dropped.add("\(round)") }
                }
            }
            try await group.waitForAll()
        }
        let history = await coordinator.history
        #expect(history.map(\.round) == [1, 2, 3])
        #expect(history[0].participants == ["fast"])
        #expect(dropped.all == ["1"])
        #expect(history.dropFirst().contains { $0.participants.contains("slow") })
    }

    @Test func aClientTheCoordinatorForgotJoinsAgainAndCarriesOn() async throws {
        let log = SyntheticGenerator(config: Fixtures.syntheticData).generate()
        let (train, test) = ExampleBuilder().build(SiloSplitter(silos: 1, scheme: .iid, seed: 1).split(log)[0])
        let coordinator = try Coordinator(
            modelConfig: Fixtures.syntheticConfig, config: CoordinatorConfig(rounds: 2, minClients: 1),
            initialModel: try AttentionModel(config: Fixtures.syntheticConfig, seed: 0))
        let link = ForgottenOnce(inner: InProcessLink(coordinator: coordinator, client: "solo"))
        let joins = Recorded()
        try await Participant(train: train, test: test).run(link: link, expectedModel: Fixtures.syntheticConfig) { event in
            if case .joined = event { joins.add("joined") }
        }
        #expect(joins.all.count == 2)  // the first join, and again after "not joined"
        #expect(await coordinator.history.map(\.round) == [1, 2])
    }
}

/// A link whose first NextTask is refused as from a client the coordinator does not know, as
/// a coordinator restarted since the client joined answers.
struct ForgottenOnce: FederationLink {
    let inner: InProcessLink
    let first = Flag()

    func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo {
        try await inner.join(protocolVersion: protocolVersion, trainExamples: trainExamples)
    }
    func nextTask(lastRound: Int) async throws -> FederationTask {
        if first.takeFirst() { throw CoordinatorError.notJoined(inner.client) }
        return try await inner.nextTask(lastRound: lastRound)
    }
    func downloadModel(version: String, base: String?) async throws -> DownloadedPayload {
        try await inner.downloadModel(version: version, base: base)
    }
    func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        try await inner.uploadUpdate(round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
    }
    func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws {
        try await inner.reportEvaluation(round: round, version: version, report: report)
    }

    func sendSecure(_ reply: SecureReply) async throws { try await inner.sendSecure(reply) }
}
