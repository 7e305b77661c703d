import FedAttnFederation
import FedAttnModel
import Foundation
import GRDB
import Testing
import _FedAttnTestSupport

/// A state folder written by the previous release (kept in Tests/Fixtures, made by
/// scripts/make-state-fixture.sh with that release's binaries) opens with this build: its
/// history is migrated forward, its rounds and kept model are read, and a coordinator resumes
/// from it. One migrated past this build is refused, with nothing written.
struct StateFolderUpgradeTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/state-release-d96b222").standardizedFileURL.path

    /// A copy of the fixture to open (a test never writes to the fixture itself).
    static func copy() throws -> String {
        let folder = try Fixtures.temporaryFolder()
        for name in try FileManager.default.contentsOfDirectory(atPath: fixture) {
            try FileManager.default.copyItem(atPath: "\(fixture)/\(name)", toPath: "\(folder)/\(name)")
        }
        return folder
    }

    @Test func aFolderOfThePreviousReleaseIsMigratedForwardAndResumes() async throws {
        let folder = try Self.copy()
        let before = try StateStore.reading(folder: folder)
        let old = try before.appliedSchema()
        #expect(!old.isEmpty && old.last != StateStore.schemaVersion, "the fixture is of an older schema: \(old)")
        let store = try StateStore(folder: folder)
        #expect(try store.appliedSchema() == StateStore.schemaHistory)
        let rounds = try store.rounds()
        #expect(rounds.map(\.round) == [1, 2])
        #expect(rounds.allSatisfy { $0.evaluation?.testAUC != nil && $0.participants == ["silo-00", "silo-01"] })
        // Its models load, and a coordinator of the same settings resumes: both rounds done.
        let model = try store.model(of: try #require(rounds.last))
        let coordinator = try Coordinator(
            modelConfig: model.config, config: CoordinatorConfig(rounds: 2, minClients: 2), initialModel: model, store: store)
        let history = await coordinator.history
        #expect(history.map(\.round) == [1, 2])
        // It kept no most-popular baseline (its release had none): none is read, and a
        // coordinator resumed on it pools the silos' counts afresh.
        #expect(try store.popularity() == nil)
        #expect(await coordinator.popularityBaseline.status == .pooling)
        // The kept round is linked again as best.safetensors, and loads.
        let kept = try #require(ModelSelection(patience: 0, metric: .auc, replaying: history).bestRound)
        let best = try ModelFile.load(from: "\(folder)/\(StateStore.bestModelFile)")
        #expect(best.parameters == (try store.model(of: rounds[kept - 1])).parameters)
    }

    @Test func aFolderOfANewerReleaseIsRefusedWithNothingWritten() throws {
        let folder = try Self.copy()
        // As a later release would leave it: a migration this build does not know.
        _ = try StateStore(folder: folder)
        let history = URL(fileURLWithPath: folder).appendingPathComponent("history.sqlite")
        try DatabaseQueue(path: history.path).write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('from-the-future')") }
        let bytes = try Data(contentsOf: history)
        let error = #expect(throws: StateStoreError.self) { _ = try StateStore(folder: folder) }
        #expect(
            error.map { "\($0)" }?.contains("written by a newer FedAttention (its schema has from-the-future") == true, "\(String(describing: error))"
        )
        #expect(try Data(contentsOf: history) == bytes)
    }
}
