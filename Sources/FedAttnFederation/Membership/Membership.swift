import Foundation
public import Logging
import Synchronization

/// Which silos a running coordinator admits: only those its allow-list names (`members.txt`,
/// `serve --members`), and none whose certificate its revocation list holds (`revoked.txt`,
/// by serial). Both files are re-read whenever their bytes change, at the next check (each
/// call and each TLS handshake checks), so membership changes without a restart, and a
/// check that follows a rewrite of a file always sees the rewrite.
///
/// A file that becomes unreadable or malformed (or disappears) while the coordinator runs
/// is logged as an error once, and the list read before it stays in force until the file is
/// mended: a bad edit neither locks every silo out nor lets everyone in.
public final class Membership: Sendable {
    /// The allow-list; nil admits every silo whose certificate the federation's CA signed.
    public let membersFile: String?
    /// The revocation list; nil revokes nothing. A file not there (yet) revokes nothing either.
    public let revokedFile: String?
    private let logger: Logger

    private struct State {
        /// The bytes last read from each file (nil: there was no file), so that each version
        /// of a file is parsed, and a problem with it logged, once.
        var membersBytes: Data?
        var revokedBytes: Data?
        var members: Set<String>?
        var revoked: [CertificateSerial: String] = [:]
    }
    private let state: Mutex<State>

    /// Reads `membersFile` (which must be there) and `revokedFile` (if it is there); `logger`
    /// gets a line each time either is re-read.
    /// - Throws: `MembershipError` naming the file (and line) that cannot be read.
    public init(membersFile: String?, revokedFile: String?, logger: Logger) throws(MembershipError) {
        var initial = State()
        if let membersFile {
            guard let bytes = try FederationFolder.read(membersFile) else {
                throw .unreadable(file: membersFile, why: "there is no such file; provision writes one as DIR/members.txt")
            }
            initial.membersBytes = bytes
            initial.members = Set(try MemberList(bytes, file: membersFile).names)
        }
        if let revokedFile, let bytes = try FederationFolder.read(revokedFile) {
            initial.revokedBytes = bytes
            initial.revoked = try CertificateLedger(bytes, file: revokedFile).bySerial
        }
        self.membersFile = membersFile
        self.revokedFile = revokedFile
        self.logger = logger
        state = Mutex(initial)
    }

    /// Why silo `name`, presenting a certificate with `serial` (nil without TLS), is refused
    /// now; nil when it is admitted. Re-reads either file first if it changed.
    public func refusal(name: String, serial: CertificateSerial?) -> MembershipRefusal? {
        let (members, revoked) = current()
        if let serial, let revokedFile, let holder = revoked[serial] {
            return MembershipRefusal(.revoked(name: name, serial: serial, issuedTo: holder, file: revokedFile))
        }
        if let members, let membersFile, !members.contains(name) {
            return MembershipRefusal(.notMember(name: name, file: membersFile))
        }
        return nil
    }

    /// Why a certificate with `serial`, presented by `name` (its common name, if it has one),
    /// is refused at the TLS handshake; nil unless it is revoked.
    public func revocation(of serial: CertificateSerial, presentedBy name: String?) -> MembershipRefusal? {
        guard let revokedFile, let holder = current().revoked[serial] else { return nil }
        return MembershipRefusal(.revoked(name: name, serial: serial, issuedTo: holder, file: revokedFile))
    }

    /// The silos the allow-list names now, sorted (re-read first if it changed); nil without
    /// an allow-list.
    public var allowList: [String]? { current().members.map { $0.sorted() } }

    /// What `serve` says of its membership as it starts.
    public var summary: String {
        let (members, revoked) = current()
        var parts: [String] = []
        if let membersFile, let members {
            parts.append("only the \(members.count) silo\(members.count == 1 ? "" : "s") listed in \(membersFile) are admitted")
        } else {
            parts.append("no allow-list (--members): every silo whose certificate the federation CA signed is admitted")
        }
        if let revokedFile {
            let present = FileManager.default.fileExists(atPath: revokedFile)
            parts.append(
                "\(revoked.count) certificate\(revoked.count == 1 ? " is" : "s are") revoked in \(revokedFile)\(present ? "" : " (no such file yet)")"
            )
        }
        let watched = membersFile != nil || revokedFile != nil ? "; re-read whenever they change, no restart needed" : ""
        return "membership: \(parts.joined(separator: "; "))\(watched)"
    }

    /// The lists in force, after re-reading whichever file changed since the last look
    /// (the reading is done outside the lock; what it found is logged after it).
    private func current() -> (members: Set<String>?, revoked: [CertificateSerial: String]) {
        let membersNow = membersFile.flatMap { FileManager.default.contents(atPath: $0) }
        let revokedNow = revokedFile.flatMap { FileManager.default.contents(atPath: $0) }
        let (members, revoked, notes) = state.withLock { state in
            var said: [(level: Logger.Level, line: String)] = []
            if let membersFile, membersNow != state.membersBytes {
                state.membersBytes = membersNow
                said.append(Self.reread(membersFile, membersNow, members: &state.members))
            }
            if let revokedFile, revokedNow != state.revokedBytes {
                state.revokedBytes = revokedNow
                said.append(Self.reread(revokedFile, revokedNow, revoked: &state.revoked))
            }
            return (state.members, state.revoked, said)
        }
        for note in notes { logger.log(level: note.level, "\(note.line)") }
        return (members, revoked)
    }

    /// Takes the allow-list from `bytes` (the new contents of `file`, nil if it is gone), or
    /// keeps the one in force; says which.
    private static func reread(_ file: String, _ bytes: Data?, members: inout Set<String>?) -> (level: Logger.Level, line: String) {
        let before = members ?? []
        let kept = "the \(before.count) silo\(before.count == 1 ? "" : "s") read before stay admitted until it is mended"
        guard let bytes else { return (.error, "\(file) is gone or unreadable: \(kept) (an empty file admits none)") }
        do {
            let now = Set(try MemberList(bytes, file: file).names)
            members = now
            var changes: [String] = []
            let added = now.subtracting(before).sorted(), removed = before.subtracting(now).sorted()
            if !added.isEmpty { changes.append("added " + added.map { "'\($0)'" }.joined(separator: ", ")) }
            if !removed.isEmpty {
                changes.append("removed " + removed.map { "'\($0)'" }.joined(separator: ", ") + ", refused from its next call")
            }
            let summary = changes.isEmpty ? "" : " (\(changes.joined(separator: "; ")))"
            return (.notice, "\(file) re-read: \(now.count) silo\(now.count == 1 ? "" : "s") admitted\(summary)")
        } catch {
            return (.error, "\(error); \(kept)")
        }
    }

    /// Takes the revocation list from `bytes` (the new contents of `file`, nil if it is gone),
    /// or keeps the one in force; says which.
    private static func reread(
        _ file: String, _ bytes: Data?, revoked: inout [CertificateSerial: String]
    ) -> (level: Logger.Level, line: String) {
        let kept = "the \(revoked.count) revocation\(revoked.count == 1 ? "" : "s") read before stay in force until it is mended"
        guard let bytes else { return (.error, "\(file) is gone or unreadable: \(kept) (an empty file revokes none)") }
        do {
            let now = try CertificateLedger(bytes, file: file).bySerial
            let added = now.filter { revoked[$0.key] == nil }.sorted { $0.key.description < $1.key.description }
            revoked = now
            let summary =
                added.isEmpty ? "" : " (newly: " + added.map { "\($0.key) of '\($0.value)'" }.joined(separator: ", ") + ", refused from now on)"
            return (.notice, "\(file) re-read: \(now.count) certificate\(now.count == 1 ? "" : "s") revoked\(summary)")
        } catch {
            return (.error, "\(error); \(kept)")
        }
    }
}

/// Why the coordinator refuses a silo by its membership: what the refusal says (to the
/// client, and in the coordinator's log), naming the silo and the file that decided.
public struct MembershipRefusal: Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        /// `name` is a name as it may be written in a log line (checked, or quoted).
        case revoked(name: String?, serial: CertificateSerial, issuedTo: String, file: String)
        case notMember(name: String, file: String)
    }
    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    /// Whether the certificate itself is refused (revoked), rather than the silo's name.
    public var isRevocation: Bool { if case .revoked = kind { true } else { false } }

    public var description: String {
        switch kind {
        case .revoked(let name, let serial, let issuedTo, let file):
            let who = name.map { SiloName.problem(with: $0) == nil ? "silo '\($0)'" : "a client calling itself \(SiloName.quoted($0))" }
            let issued = name == issuedTo ? "" : ", issued to '\(issuedTo)'"
            return "the certificate presented by \(who ?? "a client with no name") (serial \(serial)\(issued)) is revoked (\(file))"
        case .notMember(let name, let file):
            return "silo '\(name)' is not a member of this federation (\(file))"
        }
    }
}
