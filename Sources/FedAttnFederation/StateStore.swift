import FedAttnCore
public import FedAttnModel
public import Foundation
import GRDB

/// The coordinator's state folder: every published model as `round-NNN.safetensors`, and
/// the round history in `history.sqlite`. A version is durable (temporary file, fsync,
/// rename, fsync of the folder, then its database row) before any client can hear of it,
/// so a coordinator killed at any moment resumes from the last published version.
public final class StateStore: Sendable {
    public let folder: String
    private let database: DatabaseQueue

    /// A round as stored: published, and evaluated once its metrics are in.
    public struct StoredRound: Sendable, Equatable {
        public let round: Int
        public let version: String
        public let modelFile: String
        public let participants: [String]
        public let examples: Int
        public let bytesUpPerClient: Int
        public let trainSecondsMax: Double
        /// Nil until the round's evaluation finished.
        public let evaluation: RoundRecord?
    }

    public init(folder: String) throws {
        self.folder = folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        database = try DatabaseQueue(path: (folder as NSString).appendingPathComponent("history.sqlite"))
        var migrator = DatabaseMigrator()
        migrator.registerMigration("rounds") { db in
            try db.execute(
                sql: """
                    CREATE TABLE round (
                        round INTEGER PRIMARY KEY, version TEXT NOT NULL, model_file TEXT NOT NULL,
                        participants TEXT NOT NULL, examples INTEGER NOT NULL, bytes_up INTEGER NOT NULL,
                        train_seconds_max REAL NOT NULL, published_at REAL NOT NULL,
                        evaluated INTEGER NOT NULL DEFAULT 0, test_auc REAL, test_logloss REAL, evaluated_clients INTEGER,
                        bytes_down INTEGER, seconds REAL, retries TEXT)
                    """)
        }
        try migrator.migrate(database)
    }

    /// Makes a newly published version durable: the model file, then its row.
    public func publish(
        round: Int, version: String, model: AttentionModel, participants: [String], examples: Int, bytesUpPerClient: Int, trainSecondsMax: Double
    ) throws {
        let name = String(format: "round-%03d.safetensors", round)
        try writeDurably(try Safetensors.encode(model.parameters, metadata: model.config.metadata), to: name)
        let people = String(decoding: try JSONEncoder().encode(participants), as: UTF8.self)
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO round (round, version, model_file, participants, examples, bytes_up, train_seconds_max, published_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [round, version, name, people, examples, bytesUpPerClient, trainSecondsMax, Date().timeIntervalSince1970])
        }
    }

    /// Records a round's evaluation and timing.
    public func recordEvaluation(_ record: RoundRecord) throws {
        let retries = String(decoding: try JSONEncoder().encode(record.retries), as: UTF8.self)
        try database.write { db in
            try db.execute(
                sql: """
                    UPDATE round SET evaluated = 1, test_auc = ?, test_logloss = ?, evaluated_clients = ?, bytes_down = ?, seconds = ?, retries = ?
                    WHERE round = ?
                    """,
                arguments: [
                    record.testAUC, record.testLogLoss, record.evaluatedClients, record.bytesDownPerClient, record.seconds, retries, record.round,
                ])
        }
    }

    /// Every stored round, in order.
    public func rounds() throws -> [StoredRound] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM round ORDER BY round").map { row in
                let participants = (try? JSONDecoder().decode([String].self, from: Data((row["participants"] as String).utf8))) ?? []
                let retries = (row["retries"] as String?).flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
                let evaluated: Bool = row["evaluated"]
                let stored = (round: row["round"] as Int, version: row["version"] as String)
                return StoredRound(
                    round: stored.round, version: stored.version, modelFile: row["model_file"], participants: participants,
                    examples: row["examples"], bytesUpPerClient: row["bytes_up"], trainSecondsMax: row["train_seconds_max"],
                    evaluation: evaluated
                        ? RoundRecord(
                            round: stored.round, modelVersion: stored.version, participants: participants, examples: row["examples"],
                            testAUC: row["test_auc"], testLogLoss: row["test_logloss"], evaluatedClients: row["evaluated_clients"] ?? 0,
                            bytesUpPerClient: row["bytes_up"], bytesDownPerClient: row["bytes_down"] ?? 0, seconds: row["seconds"] ?? 0,
                            trainSecondsMax: row["train_seconds_max"], retries: retries)
                        : nil)
            }
        }
    }

    /// The model of a stored round.
    public func model(of round: StoredRound) throws -> AttentionModel {
        try ModelFile.load(from: (folder as NSString).appendingPathComponent(round.modelFile))
    }

    /// Temporary file, fsync, rename over the name, fsync of the folder: after this returns
    /// the file survives a crash, and a crash before it leaves the old file (or none) intact.
    private func writeDurably(_ data: Data, to name: String) throws {
        let path = (folder as NSString).appendingPathComponent(name)
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        try handle.write(contentsOf: data)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        let directory = open(folder, O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
