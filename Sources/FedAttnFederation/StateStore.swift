import FedAttnCore
public import FedAttnModel
import FedAttnPrivacy
import FedAttnSafetensors
public import Foundation
import GRDB
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The coordinator's state folder: every published model as `round-NNN.safetensors` (and the
/// best by validation AUC as `best.safetensors`), the
/// server optimiser's state with it as `round-NNN.server-state` (when it keeps any: a
/// FAT1 payload, float32), and the round history in `history.sqlite`. (`serve` also leaves
/// the settings it ran with in `settings.json`, for `report`.) A version is durable (temporary file, fsync,
/// rename, fsync of the folder, then its database row) before any client can hear of it,
/// so a coordinator killed at any moment resumes from the last published version.
///
/// A state folder belongs to one coordinator at a time: it holds an exclusive lock on
/// `lock` in the folder for as long as its store lives (released by the kernel when the
/// process ends, however it ends).
public final class StateStore: Sendable {
    public let folder: String
    private let database: DatabaseQueue
    /// Held by the coordinator that owns the folder; nil for a reader (`history`).
    private let lock: FolderLock?

    /// A round as stored: published, and evaluated once its metrics are in.
    public struct StoredRound: Sendable, Equatable {
        public let round: Int
        public let version: String
        public let modelFile: String
        public let participants: [String]
        public let examples: Int
        public let bytesUpPerClient: Int
        public let trainSecondsMax: Double
        /// The server optimiser's state after the round, if it keeps any.
        public let serverStateFile: String?
        /// With DP-FedAvg: the round's sampling rate in the accounting.
        public let dpSamplingRate: Double?
        /// Nil until the round's evaluation finished.
        public let evaluation: RoundRecord?
    }

    /// Opens (or creates) `folder` as its coordinator, holding its lock: `StateStoreError.inUse`
    /// while another coordinator has it.
    public convenience init(folder: String) throws {
        try self.init(folder: folder, owner: true)
    }

    /// Opens an existing state folder to read its history while its coordinator may be
    /// running: no lock, nothing written.
    public static func reading(folder: String) throws -> StateStore {
        try StateStore(folder: folder, owner: false)
    }

    private init(folder: String, owner: Bool) throws {
        self.folder = folder
        let path = (folder as NSString).appendingPathComponent("history.sqlite")
        guard owner else {
            lock = nil
            var configuration = Configuration()
            configuration.readonly = true
            database = try DatabaseQueue(path: path, configuration: configuration)
            return
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        lock = try FolderLock(folder: folder)
        // A folder whose history is missing or empty is checked before SQLite makes one.
        let historyBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if (historyBytes ?? 0) == 0 {
            try StateFolderCheck.check(folder: folder, files: try Self.files(in: folder), rounds: [], historyExists: historyBytes != nil)
        }
        database = try DatabaseQueue(path: path)
        let migrator = Self.migrator
        // A folder a newer FedAttention migrated: its schema is not this build's to write.
        if let newer = try database.read({ db in try migrator.hasBeenSuperseded(db) ? try migrator.appliedIdentifiers(db) : nil }) {
            let unknown = newer.subtracting(Self.schemaHistory).sorted()
            throw StateStoreError.newerSchema(folder: folder, unknown: unknown, known: Self.schemaVersion)
        }
        try migrator.migrate(database)
        try StateFolderCheck.check(
            folder: folder, files: try Self.files(in: folder),
            rounds: try rounds().map { StateFolderCheck.Round(round: $0.round, modelFile: $0.modelFile, evaluated: $0.evaluation != nil) },
            historyExists: true)
    }

    /// The names of the files in `folder`.
    private static func files(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder)
    }

    /// The state folder's schema, one GRDB migration at a time, oldest first: a folder of an
    /// earlier release is migrated forward when a coordinator opens it; one that a later
    /// release migrated past these is refused (`StateStoreError.newerSchema`).
    static let migrator: DatabaseMigrator = {
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
        migrator.registerMigration("server-state") { db in
            try db.execute(sql: "ALTER TABLE round ADD COLUMN server_state_file TEXT")
        }
        migrator.registerMigration("validation-and-ranking") { db in
            for column in ["validation_auc REAL", "validation_logloss REAL", "hit_rate REAL", "ndcg REAL", "ranked_users INTEGER"] {
                try db.execute(sql: "ALTER TABLE round ADD COLUMN \(column)")
            }
        }
        migrator.registerMigration("privacy") { db in
            try db.execute(sql: "ALTER TABLE round ADD COLUMN epsilon REAL")
        }
        migrator.registerMigration("example-privacy") { db in
            try db.execute(sql: "ALTER TABLE round ADD COLUMN example_epsilon REAL")
            try db.execute(sql: "ALTER TABLE round ADD COLUMN dp_sampling_rate REAL")
            try db.execute(
                sql: """
                    CREATE TABLE privacy_charge (client TEXT NOT NULL, round INTEGER NOT NULL, attempt INTEGER NOT NULL,
                    examples INTEGER NOT NULL, sampling_rate REAL NOT NULL, noise_multiplier REAL NOT NULL, steps INTEGER NOT NULL)
                    """)
        }
        migrator.registerMigration("catalogue-ranking") { db in
            for column in ["recall_at_20 REAL", "ndcg_at_20 REAL", "catalogue_users INTEGER", "validation_ndcg REAL"] {
                try db.execute(sql: "ALTER TABLE round ADD COLUMN \(column)")
            }
        }
        migrator.registerMigration("evaluation-disputes") { db in
            try db.execute(sql: "ALTER TABLE round ADD COLUMN disputes TEXT")
            try db.execute(sql: "ALTER TABLE round ADD COLUMN silo_scores TEXT")
        }
        migrator.registerMigration("popularity") { db in
            // The most-popular baseline of a served federation (protocol 10): the pool as it
            // closed (one row), and each silo's baseline sums.
            try db.execute(
                sql: """
                    CREATE TABLE popularity_pool (
                        id INTEGER PRIMARY KEY CHECK (id = 1), status TEXT NOT NULL, pooled_from TEXT NOT NULL, declined TEXT NOT NULL,
                        old_protocol TEXT NOT NULL, items INTEGER NOT NULL, counts BLOB)
                    """)
            try db.execute(
                sql: """
                    CREATE TABLE popularity (
                        client TEXT PRIMARY KEY, round INTEGER NOT NULL, ranked_users INTEGER NOT NULL, hits_at_10 INTEGER NOT NULL,
                        ndcg_at_10_sum REAL NOT NULL, catalogue_users INTEGER NOT NULL, hits_at_20 INTEGER NOT NULL, ndcg_at_20_sum REAL NOT NULL)
                    """)
        }
        migrator.registerMigration("popularity-secure-sum") { db in
            // Under secure aggregation (protocol 11) the pool is one secure sum: the silos of that
            // sum (JSON names; NULL for a pool made in the clear) and how many of them shared.
            try db.execute(sql: "ALTER TABLE popularity_pool ADD COLUMN summed_over TEXT")
            try db.execute(sql: "ALTER TABLE popularity_pool ADD COLUMN shared_by INTEGER")
        }
        return migrator
    }()

    /// The migrations this build knows, oldest first.
    public static let schemaHistory: [String] = migrator.migrations
    /// This build's schema version: its newest migration.
    public static var schemaVersion: String { schemaHistory.last ?? "" }

    /// The migrations applied to this folder's history, oldest first.
    public func appliedSchema() throws -> [String] {
        try database.read { db in try Self.migrator.appliedMigrations(db) }
    }

    /// Makes a newly published version durable: the model file, the server optimiser's
    /// state (an encoded payload) if any, then its row. A round already published is never
    /// written again (`StateStoreError`): its row stays, and so do its files.
    public func publish(
        round: Int, version: String, model: AttentionModel, serverState: Data? = nil, participants: [String], examples: Int,
        bytesUpPerClient: Int, trainSecondsMax: Double, dpSamplingRate: Double? = nil
    ) throws {
        let name = String(format: "round-%03d.safetensors", round)
        let known = try database.read { db in try Int.fetchOne(db, sql: "SELECT round FROM round WHERE round = ?", arguments: [round]) }
        guard known == nil else { throw StateStoreError.alreadyPublished(round: round, folder: folder) }
        try writeDurably(to: name) { write in try Safetensors.write(model.parameters, metadata: model.config.metadata, to: write) }
        var stateName: String?
        if let serverState {
            stateName = String(format: "round-%03d.server-state", round)
            try writeDurably(to: stateName!) { write in try serverState.withUnsafeBytes { try write($0) } }
        }
        let people = String(decoding: try JSONEncoder().encode(participants), as: UTF8.self)
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO round (round, version, model_file, participants, examples, bytes_up, train_seconds_max, published_at, server_state_file,
                    dp_sampling_rate)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    round, version, name, people, examples, bytesUpPerClient, trainSecondsMax, Date().timeIntervalSince1970, stateName,
                    dpSamplingRate,
                ])
        }
        // Only the last round's state is read on resume: the one before goes once this row holds
        // (FedAvgM's is a whole model's worth of velocity).
        if stateName != nil, round > 1 {
            let older = (folder as NSString).appendingPathComponent(String(format: "round-%03d.server-state", round - 1))
            if FileManager.default.fileExists(atPath: older) {
                try? FileManager.default.removeItem(atPath: older)
                try database.write { db in try db.execute(sql: "UPDATE round SET server_state_file = NULL WHERE round = ?", arguments: [round - 1]) }
            }
        }
    }

    /// Makes example-level privacy charges durable (written before the silos get their task).
    public func recordPrivacyCharges(_ charges: [PrivacyCharge]) throws {
        try database.write { db in
            for c in charges {
                try db.execute(
                    sql:
                        "INSERT INTO privacy_charge (client, round, attempt, examples, sampling_rate, noise_multiplier, steps) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [c.client, c.round, c.attempt, c.examples, c.spend.samplingRate, c.spend.noiseMultiplier, c.spend.steps])
            }
        }
    }

    /// Every example-level privacy charge, in the order made.
    public func privacyCharges() throws -> [PrivacyCharge] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM privacy_charge ORDER BY rowid").map { row in
                PrivacyCharge(
                    client: row["client"], round: row["round"], attempt: row["attempt"], examples: row["examples"],
                    spend: PrivacySpend(samplingRate: row["sampling_rate"], noiseMultiplier: row["noise_multiplier"], steps: row["steps"]))
            }
        }
    }

    /// Records a round's evaluation and timing.
    public func recordEvaluation(_ record: RoundRecord) throws {
        let retries = String(decoding: try JSONEncoder().encode(record.retries), as: UTF8.self)
        let disputes = String(decoding: try JSONEncoder().encode(record.disputes), as: UTF8.self)
        let siloScores = String(decoding: try JSONEncoder().encode(record.siloScores), as: UTF8.self)
        try database.write { db in
            try db.execute(
                sql: """
                    UPDATE round SET evaluated = 1, test_auc = ?, test_logloss = ?, evaluated_clients = ?, bytes_down = ?, seconds = ?, retries = ?,
                    validation_auc = ?, validation_logloss = ?, hit_rate = ?, ndcg = ?, ranked_users = ?, epsilon = ?, example_epsilon = ?,
                    recall_at_20 = ?, ndcg_at_20 = ?, catalogue_users = ?, validation_ndcg = ?, disputes = ?,
                    silo_scores = ?
                    WHERE round = ?
                    """,
                arguments: [
                    record.testAUC, record.testLogLoss, record.evaluatedClients, record.bytesDownPerClient, record.seconds, retries,
                    record.validationAUC, record.validationLogLoss, record.hitRate, record.ndcg, record.rankedUsers, record.epsilon,
                    record.exampleEpsilon, record.recallAt20, record.ndcgAt20, record.catalogueUsers,
                    record.validationNDCG, disputes, siloScores, record.round,
                ])
        }
    }

    /// Every stored round, in order.
    public func rounds() throws -> [StoredRound] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM round ORDER BY round").map { row in
                let participants = (try? JSONDecoder().decode([String].self, from: Data((row["participants"] as String).utf8))) ?? []
                let retries = (row["retries"] as String?).flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
                let disputes = (row["disputes"] as String?).flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
                let siloScores =
                    (row["silo_scores"] as String?).flatMap { try? JSONDecoder().decode([String: SiloScores].self, from: Data($0.utf8)) } ?? [:]
                let evaluated: Bool = row["evaluated"]
                let stored = (round: row["round"] as Int, version: row["version"] as String)
                return StoredRound(
                    round: stored.round, version: stored.version, modelFile: row["model_file"], participants: participants,
                    examples: row["examples"], bytesUpPerClient: row["bytes_up"], trainSecondsMax: row["train_seconds_max"],
                    serverStateFile: row["server_state_file"], dpSamplingRate: row["dp_sampling_rate"],
                    evaluation: evaluated
                        ? RoundRecord(
                            round: stored.round, modelVersion: stored.version, participants: participants, examples: row["examples"],
                            testAUC: row["test_auc"], testLogLoss: row["test_logloss"], evaluatedClients: row["evaluated_clients"] ?? 0,
                            bytesUpPerClient: row["bytes_up"], bytesDownPerClient: row["bytes_down"] ?? 0, seconds: row["seconds"] ?? 0,
                            trainSecondsMax: row["train_seconds_max"], retries: retries, validationAUC: row["validation_auc"],
                            validationLogLoss: row["validation_logloss"], hitRate: row["hit_rate"], ndcg: row["ndcg"],
                            rankedUsers: row["ranked_users"] ?? 0, validationNDCG: row["validation_ndcg"], recallAt20: row["recall_at_20"],
                            ndcgAt20: row["ndcg_at_20"],
                            catalogueUsers: row["catalogue_users"] ?? 0, epsilon: row["epsilon"], exampleEpsilon: row["example_epsilon"],
                            dpSamplingRate: row["dp_sampling_rate"], disputes: disputes, siloScores: siloScores)
                        : nil)
            }
        }
    }

    /// Keeps the most-popular baseline's pool as it closed (or as it changed since: a silo
    /// declining later), replacing the one kept before.
    public func storePopularityPool(_ pool: StoredPopularity) throws {
        let json = { (names: [String]) throws -> String in String(decoding: try JSONEncoder().encode(names), as: UTF8.self) }
        let (from, declined, old) = (try json(pool.pooledFrom), try json(pool.declined), try json(pool.oldProtocol))
        let counts = pool.counts.map(Self.blob)
        // NULL in the clear: what tells a secure sum's pool from one shared in the clear.
        let summedOver: String? = try pool.summedSecurely ? json(pool.summedOver) : nil
        let sharedBy: Int? = pool.summedSecurely ? pool.sharedBy : nil
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO popularity_pool (id, status, pooled_from, declined, old_protocol, items, counts, summed_over, shared_by)
                    VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [pool.status.rawValue, from, declined, old, pool.items, counts, summedOver, sharedBy])
        }
    }

    /// Keeps `client`'s baseline sums, sent with its evaluation of round `round`.
    public func storePopularitySums(client: String, round: Int, sums: RankingSums) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO popularity (client, round, ranked_users, hits_at_10, ndcg_at_10_sum, catalogue_users, hits_at_20,
                    ndcg_at_20_sum) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [client, round, sums.users, sums.hits, sums.ndcgSum, sums.catalogueUsers, sums.hitsAt20, sums.ndcgAt20Sum])
        }
    }

    /// The most-popular baseline as kept: nil before its pool closed (or in a folder of a
    /// release before it). A pool row that cannot be read is `StateFolderError`.
    public func popularity() throws -> StoredPopularity? {
        try database.read { db -> StoredPopularity? in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM popularity_pool WHERE id = 1") else { return nil }
            let names = { (text: String) -> [String] in (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? [] }
            guard let status = PopularityBaseline.Status(rawValue: row["status"]) else {
                throw StateFolderError(
                    "\(folder)/history.sqlite: the popularity pool's status '\(row["status"] as String)' is not one this build knows")
            }
            var counts: PopularityCounts?
            if let blob = row["counts"] as Data? {
                guard let read = Self.counts(blob) else {
                    throw StateFolderError("\(folder)/history.sqlite: the pooled popularity counts are \(blob.count) bytes, not 12 an item")
                }
                counts = read
            }
            var sums: [String: RankingSums] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT * FROM popularity ORDER BY client") {
                let client: String = r["client"]
                sums[client] = RankingSums(
                    users: r["ranked_users"], hits: r["hits_at_10"], ndcgSum: r["ndcg_at_10_sum"], catalogueUsers: r["catalogue_users"],
                    hitsAt20: r["hits_at_20"], ndcgAt20Sum: r["ndcg_at_20_sum"])
            }
            let summedOver: String? = row["summed_over"]
            let sharedBy: Int? = row["shared_by"]
            return StoredPopularity(
                status: status, pooledFrom: names(row["pooled_from"]), declined: names(row["declined"]), oldProtocol: names(row["old_protocol"]),
                items: row["items"], counts: counts, sums: sums, summedSecurely: summedOver != nil, summedOver: summedOver.map(names) ?? [],
                sharedBy: sharedBy ?? 0)
        }
    }

    /// Pooled counts as a blob: per item, its row (u32) and its count (u64), little-endian.
    static func blob(_ counts: PopularityCounts) -> Data {
        var data = Data(capacity: counts.count * 12)
        for (item, count) in zip(counts.items, counts.counts) {
            withUnsafeBytes(of: UInt32(bitPattern: item).littleEndian) { data.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt64(clamping: count).littleEndian) { data.append(contentsOf: $0) }
        }
        return data
    }

    /// `blob`'s counts, or nil when it is not whole items.
    static func counts(_ blob: Data) -> PopularityCounts? {
        guard blob.count % 12 == 0 else { return nil }
        let bytes = [UInt8](blob)
        var items: [Int32] = [], counts: [Int] = []
        for start in stride(from: 0, to: bytes.count, by: 12) {
            var item: UInt32 = 0, count: UInt64 = 0
            for k in 0..<4 { item |= UInt32(bytes[start + k]) << (8 * k) }
            for k in 0..<8 { count |= UInt64(bytes[start + 4 + k]) << (8 * k) }
            items.append(Int32(bitPattern: item))
            counts.append(Int(clamping: count))
        }
        return PopularityCounts(items: items, counts: counts)
    }

    /// When each stored round was published, by round (for the status page; `rounds()`
    /// leaves the time out).
    public func publicationTimes() throws -> [Int: Date] {
        try database.read { db -> [Int: Date] in
            var times: [Int: Date] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT round, published_at FROM round") {
                times[row["round"] as Int] = Date(timeIntervalSince1970: row["published_at"] as Double)
            }
            return times
        }
    }

    /// The model of a stored round.
    public func model(of round: StoredRound) throws -> AttentionModel {
        try ModelFile.load(from: (folder as NSString).appendingPathComponent(round.modelFile))
    }

    /// The file holding the best round's model (a hard link to its round file).
    public static let bestModelFile = "best.safetensors"

    /// Makes `best.safetensors` the model of `round` (already published): a hard link to its
    /// file, made under a temporary name and renamed over the old one, so the name always
    /// holds a whole model.
    public func keepBest(round: Int) throws {
        let source = (folder as NSString).appendingPathComponent(String(format: "round-%03d.safetensors", round))
        let target = (folder as NSString).appendingPathComponent(Self.bestModelFile)
        let temporary = target + ".tmp"
        unlink(temporary)
        guard link(source, temporary) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target, NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        guard rename(temporary, target) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target]) }
        // When the target already was the round's file (a resume keeping the round it kept),
        // POSIX rename does nothing and succeeds, leaving the temporary name behind.
        unlink(temporary)
        let directory = open(folder, O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    /// Secure aggregation's rows trained so far, as a bitmap (`RowSet`).
    public static let secureRowsFile = "secure-rows.bitmap"

    /// Makes the rows trained so far durable (replacing the last).
    public func storeSecureRows(_ bitmap: Data) throws {
        try writeDurably(to: Self.secureRowsFile) { write in try bitmap.withUnsafeBytes { try write($0) } }
    }

    /// The rows trained so far, as stored (nil before any secure round).
    public func secureRows() throws -> Data? {
        let path = (folder as NSString).appendingPathComponent(Self.secureRowsFile)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// The server optimiser's state stored with a round (nil when it stored none).
    public func serverState(of round: StoredRound) throws -> Data? {
        guard let file = round.serverStateFile else { return nil }
        let path = (folder as NSString).appendingPathComponent(file)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// Temporary file, fsync, rename over the name, fsync of the folder: after this returns
    /// the file survives a crash, and a crash before it leaves the old file (or none) intact.
    /// `body` writes the file's bytes, piece by piece, with the function it is handed.
    private func writeDurably(to name: String, _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let path = (folder as NSString).appendingPathComponent(name)
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        try body { bytes in
            guard let start = bytes.baseAddress, bytes.count > 0 else { return }
            try handle.write(contentsOf: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: start), count: bytes.count, deallocator: .none))
        }
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

/// Why the state folder refused a write or a start.
public enum StateStoreError: Error, CustomStringConvertible {
    case alreadyPublished(round: Int, folder: String)
    case inUse(folder: String, holder: String)
    case cannotLock(folder: String, reason: String)
    /// The folder's history was migrated by a newer release (`unknown`: its migrations this
    /// build does not know).
    case newerSchema(folder: String, unknown: [String], known: String)

    public var description: String {
        switch self {
        case .alreadyPublished(let round, let folder): "\(folder): round \(round) is already published; a published round is never rewritten"
        case .inUse(let folder, let holder):
            "\(folder) is in use by another coordinator (\(holder)); stop it first, or give this one another --state folder"
        case .cannotLock(let folder, let reason): "\(folder): cannot lock the state folder: \(reason)"
        case .newerSchema(let folder, let unknown, let known):
            "\(folder): the state folder was written by a newer FedAttention (its schema has \(unknown.joined(separator: ", ")); this build's "
                + "ends at \(known)); run the release that wrote it or a later one; nothing was written"
        }
    }
}

/// An exclusive lock on `folder`, holding the holder's process id in `folder/lock` for the
/// message another coordinator gets. Released when the object goes, or the process ends.
///
/// Between processes it is a POSIX record lock (fcntl F_SETLK), which a child process does not
/// inherit: an flock would be held, after this object went, by any child forked at that moment
/// until it execs (its copy of the descriptor shares the lock). POSIX locks do not exclude the
/// process that holds them, so within a process a set of the folders held does.
final class FolderLock: Sendable {
    private let descriptor: Int32
    private let key: String
    /// The folders this process holds (their standardised paths).
    private static let held = Mutex<Set<String>>([])

    init(folder: String) throws(StateStoreError) {
        let key = URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath().path
        guard Self.held.withLock({ $0.insert(key).inserted }) else { throw .inUse(folder: folder, holder: "process \(getpid())") }
        let path = (folder as NSString).appendingPathComponent("lock")
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            _ = Self.held.withLock { $0.remove(key) }
            throw .cannotLock(folder: folder, reason: reason)
        }
        var whole = flock()
        whole.l_type = Int16(F_WRLCK)
        whole.l_whence = Int16(SEEK_SET)
        guard fcntl(descriptor, F_SETLK, &whole) == 0 else {
            let reason = errno
            var buffer = [UInt8](repeating: 0, count: 64)
            let count = pread(descriptor, &buffer, buffer.count, 0)
            close(descriptor)
            _ = Self.held.withLock { $0.remove(key) }
            guard reason == EACCES || reason == EAGAIN else { throw .cannotLock(folder: folder, reason: String(cString: strerror(reason))) }
            let holder = count > 0 ? String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
            throw .inUse(folder: folder, holder: holder.isEmpty ? "another process" : "process \(holder)")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
        self.descriptor = descriptor
        self.key = key
    }

    deinit {
        // Closing the descriptor releases the record lock (the only one this process opened on the file).
        close(descriptor)
        _ = Self.held.withLock { $0.remove(key) }
    }
}
