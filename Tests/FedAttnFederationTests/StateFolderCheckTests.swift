import FedAttnFederation
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

/// A damaged state folder stops the coordinator before it writes anything, naming what
/// disagrees; a folder stopped at any moment of a round still resumes.
struct StateFolderCheckTests {
    /// A folder with rounds 1 to `published` published and those in `evaluated` evaluated,
    /// round `kept` kept; the store closed again.
    static func folder(published: Int = 4, evaluated: Set<Int>? = nil, kept: Int? = 2) throws -> String {
        let folder = try Fixtures.temporaryFolder()
        let store = try StateStore(folder: folder)
        let model = try Fixtures.tinyModel()
        for round in 1...published {
            try store.publish(
                round: round, version: "v\(round)", model: model, participants: ["a"], examples: 1, bytesUpPerClient: 1, trainSecondsMax: 0)
            if evaluated?.contains(round) ?? true {
                try store.recordEvaluation(RoundRecord(round: round, modelVersion: "v\(round)", participants: ["a"], testAUC: 0.7))
            }
        }
        if let kept { try store.keepBest(round: kept) }
        return folder
    }

    /// Every file of `folder` with its bytes, to show nothing was written.
    static func snapshot(_ folder: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name != "lock" {
            files[name] = try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent(name))
        }
        return files
    }

    /// Opens `folder` expecting a refusal that says `what`; the folder's files are unchanged.
    static func expectRefused(_ folder: String, saying what: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try snapshot(folder)
        let error = #expect(throws: StateFolderError.self, sourceLocation: sourceLocation) { _ = try StateStore(folder: folder) }
        let message = error.map(\.message) ?? ""
        #expect(message.contains(what), "\(message)", sourceLocation: sourceLocation)
        #expect(message.contains("nothing was written") && message.contains("start a new --state folder"), sourceLocation: sourceLocation)
        #expect(try snapshot(folder) == before, "the refusal changed the folder", sourceLocation: sourceLocation)
    }

    static func remove(_ name: String, in folder: String) throws {
        try FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
    }

    @Test func keepingTheRoundAlreadyKeptLeavesNoTemporaryFile() throws {
        // A resume keeps the round it kept: the link's temporary name must not stay behind.
        let folder = try Self.folder(kept: 2)
        try StateStore(folder: folder).keepBest(round: 2)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(!names.contains { $0.hasSuffix(".tmp") }, "\(names.sorted())")
        #expect(names.contains("best.safetensors"))
    }

    @Test func aLostHistoryRefusesToStartInsteadOfPublishingRoundOneAgain() throws {
        let folder = try Self.folder()
        try Self.remove("history.sqlite", in: folder)
        try Self.expectRefused(
            folder, saying: "history.sqlite is missing, but the folder holds published rounds (round-001.safetensors to round-004.safetensors")
        #expect(!FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("history.sqlite")))
    }

    @Test func anEmptiedHistoryRefusesToStart() throws {
        let folder = try Self.folder()
        // Truncated to nothing, as a full disk or a careless copy leaves it.
        try Data().write(to: URL(fileURLWithPath: folder).appendingPathComponent("history.sqlite"))
        try Self.expectRefused(folder, saying: "history.sqlite lists no round, but the folder holds published rounds")
    }

    @Test func aHistoryWithAnUnevaluatedRoundBeforeEvaluatedOnesRefusesToStart() throws {
        let folder = try Self.folder(evaluated: [1, 2, 4])
        try Self.expectRefused(folder, saying: "history.sqlite has round 3 published but not evaluated, though later rounds are")
    }

    @Test func aMissingRoundFileRefusesToStart() throws {
        let folder = try Self.folder()
        try Self.remove("round-002.safetensors", in: folder)
        try Self.expectRefused(folder, saying: "round 2's model file round-002.safetensors is missing")
    }

    @Test func roundFilesPastTheHistoryRefuseToStart() throws {
        let folder = try Self.folder()
        for name in ["round-005.safetensors", "round-006.safetensors"] {
            try FileManager.default.copyItem(atPath: "\(folder)/round-004.safetensors", toPath: "\(folder)/\(name)")
        }
        try Self.expectRefused(folder, saying: "the folder holds round-006.safetensors but history.sqlite ends at round 4")
    }

    @Test func aFolderStoppedBetweenAFileAndItsRowOrBeforeAnEvaluationResumes() throws {
        // Round 4 published, not evaluated; round 5's file durable, its row never written.
        let folder = try Self.folder(evaluated: [1, 2, 3])
        try FileManager.default.copyItem(atPath: "\(folder)/round-004.safetensors", toPath: "\(folder)/round-005.safetensors")
        let store = try StateStore(folder: folder)
        #expect(try store.rounds().map(\.round) == [1, 2, 3, 4])
        // A new folder, and one whose first round's file is all there is, start too.
        _ = try StateStore(folder: try Fixtures.temporaryFolder())
    }

    @Test func aFolderOfAnotherModelIsRefusedNamingWhatDiffers() throws {
        let folder = try Self.folder(published: 1, kept: nil)
        var other = Fixtures.tinyConfig
        other.historyLength += 5
        other.hidden += 8
        let error = #expect(throws: StateFolderError.self) {
            _ = try Coordinator(
                modelConfig: other, config: CoordinatorConfig(rounds: 2, minClients: 1), initialModel: try AttentionModel(config: other, seed: 0),
                store: try StateStore(folder: folder))
        }
        let message = error?.message ?? ""
        #expect(message.contains("history_length \(Fixtures.tinyConfig.historyLength) in the folder, \(other.historyLength) asked"), "\(message)")
        #expect(message.contains("hidden \(Fixtures.tinyConfig.hidden) in the folder, \(other.hidden) asked"), "\(message)")
        #expect(!message.contains("items"), "\(message)")
    }
}
