public import Foundation

/// A federation's folder, as `fedattn-coordinator provision` writes it and `provision`,
/// `sign` and `remove` edit it:
///
/// ```
/// ca/ca.pem ca/ca.key          the federation's CA (keep the key offline)
/// coordinator/                 cert.pem key.pem ca.pem, and address.txt (HOST:PORT, for join.sh)
/// silos/NAME/                  a silo's kit: cert.pem key.pem ca.pem join.sh
/// members.txt                  the allow-list (`MemberList`): serve --members
/// revoked.txt                  certificates refused, by serial (`CertificateLedger`)
/// issued.txt                   every certificate the CA signed for a silo
/// ```
///
/// Every edit writes a whole new file and renames it over the old one, so a coordinator
/// re-reading the lists while it runs never reads half an edit.
public struct FederationFolder: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    private func file(_ relative: String) -> String { (path as NSString).appendingPathComponent(relative) }

    public var caCertificateFile: String { file("ca/ca.pem") }
    public var caKeyFile: String { file("ca/ca.key") }
    public var coordinatorFolder: String { file("coordinator") }
    /// `HOST:PORT`, the address a silo's `join.sh` dials.
    public var addressFile: String { file("coordinator/address.txt") }
    public var silosFolder: String { file("silos") }
    public var membersFile: String { file("members.txt") }
    public var revokedFile: String { file("revoked.txt") }
    public var issuedFile: String { file("issued.txt") }
    /// A silo's kit folder.
    public func kit(_ name: String) -> String { file("silos/\(name)") }

    /// Whether the folder holds a federation: its CA certificate.
    public var holdsFederation: Bool { FileManager.default.fileExists(atPath: caCertificateFile) }

    /// The federation whose folder `path` lies inside (the nearest folder above it that holds
    /// one), not counting `path` itself: a federation made there would have a CA of its own,
    /// whose certificates the enclosing federation's coordinator refuses.
    public static func enclosing(_ path: String) -> FederationFolder? {
        var url = URL(fileURLWithPath: path).absoluteURL.standardizedFileURL
        // Bounded: a path has no more steps than this.
        for _ in 0..<256 {
            guard url.path != "/", !url.path.isEmpty else { return nil }
            url = url.deletingLastPathComponent().standardizedFileURL
            let candidate = FederationFolder(url.path)
            if candidate.holdsFederation { return candidate }
        }
        return nil
    }

    /// The allow-list, or nil when the folder has none (provisioned before there was one).
    /// - Throws: `MembershipError` naming the file (and line) when it cannot be read.
    public func memberList() throws(MembershipError) -> MemberList? {
        guard let data = try Self.read(membersFile) else { return nil }
        return try MemberList(data, file: membersFile)
    }

    /// The revocation list, or nil when the folder has none yet.
    public func revocationList() throws(MembershipError) -> CertificateLedger? {
        guard let data = try Self.read(revokedFile) else { return nil }
        return try CertificateLedger(data, file: revokedFile)
    }

    /// The record of issued certificates, or nil when the folder has none.
    public func issuedList() throws(MembershipError) -> CertificateLedger? {
        guard let data = try Self.read(issuedFile) else { return nil }
        return try CertificateLedger(data, file: issuedFile)
    }

    /// The silos that have a kit (a folder with a certificate) in `silos/`, by name.
    public func kits() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: silosFolder)) ?? []
        return names.filter { SiloName.problem(with: $0) == nil && FileManager.default.fileExists(atPath: kit($0) + "/cert.pem") }.sorted()
    }

    /// Makes the lists a folder lacks: `members.txt` listing every silo with a kit (so that a
    /// federation provisioned before the allow-list keeps its silos admitted when served with
    /// it), and `revoked.txt` and `issued.txt` with only their headers.
    public func prepareLists() throws(MembershipError) {
        if try Self.read(membersFile) == nil { try Self.writeWhole(MemberList(names: kits()).text, to: membersFile) }
        if try Self.read(revokedFile) == nil {
            try Self.writeWhole(CertificateLedger(header: CertificateLedger.revokedHeader).text, to: revokedFile)
        }
        if try Self.read(issuedFile) == nil {
            try Self.writeWhole(CertificateLedger(header: CertificateLedger.issuedHeader).text, to: issuedFile)
        }
    }

    /// Lists `name` in `members.txt` and records the certificate issued to it (`serial`,
    /// valid until `validUntil`, issued by `how`: "provision" or "sign") in `issued.txt`.
    /// Run `prepareLists` first.
    /// - Returns: whether `name` was listed already.
    /// - Throws: `MembershipError` naming the file that cannot be read or written.
    @discardableResult
    public func admit(_ name: String, serial: CertificateSerial, validUntil: Date, how: String) throws(MembershipError) -> Bool {
        var issued = try issuedList() ?? CertificateLedger(header: CertificateLedger.issuedHeader)
        issued.append(serial, name: name, note: "\(validUntil.formatted(.iso8601)) \(how)")
        try Self.writeWhole(issued.text, to: issuedFile)
        var members = try memberList() ?? MemberList(names: kits())
        let wasListed = members.contains(name)
        members.add(name)
        try Self.writeWhole(members.text, to: membersFile)
        return wasListed
    }

    /// What `remove` did.
    public struct Removal: Sendable, Equatable {
        /// Whether `members.txt` listed the silo (it no longer does).
        public let wasListed: Bool
        /// The silo's certificates added to `revoked.txt` now.
        public let revoked: [CertificateSerial]
        /// The silo's certificates `revoked.txt` held already.
        public let alreadyRevoked: [CertificateSerial]

        public init(wasListed: Bool, revoked: [CertificateSerial], alreadyRevoked: [CertificateSerial]) {
            self.wasListed = wasListed
            self.revoked = revoked
            self.alreadyRevoked = alreadyRevoked
        }
    }

    /// Removes silo `name` from the federation: revokes every certificate issued to it (those
    /// `issued.txt` records, and `kitCertificates`, the serials of certificates found in its
    /// kit), then takes it off `members.txt`.
    /// - Throws: `MembershipError.unknownSilo` when the folder neither lists it nor holds a
    ///   certificate of it; others naming a file that cannot be read or written.
    public func remove(_ name: String, kitCertificates: [CertificateSerial] = []) throws(MembershipError) -> Removal {
        var serials = try issuedList()?.serials(of: name) ?? []
        for serial in kitCertificates where !serials.contains(serial) { serials.append(serial) }
        let members = try memberList()
        let wasListed = members?.contains(name) ?? false
        guard wasListed || !serials.isEmpty else { throw .unknownSilo(name: name, folder: path) }
        var revocations = try revocationList() ?? CertificateLedger(header: CertificateLedger.revokedHeader)
        let already = serials.filter { revocations.contains($0) }
        let now = serials.filter { !revocations.contains($0) }
        // Revoked first: a silo is never off the list with its certificate still good.
        if !now.isEmpty {
            let note = "# removed \(Date().formatted(.iso8601))"
            for serial in now { revocations.append(serial, name: name, note: note) }
            try Self.writeWhole(revocations.text, to: revokedFile)
        }
        if wasListed, var list = members {
            list.remove(name)
            try Self.writeWhole(list.text, to: membersFile)
        }
        return Removal(wasListed: wasListed, revoked: now, alreadyRevoked: already)
    }

    /// The bytes of `file`, or nil when there is no such file.
    /// - Throws: `MembershipError.unreadable` when it is there but cannot be read.
    static func read(_ file: String) throws(MembershipError) -> Data? {
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .unreadable(file: file, why: "it is there but this user cannot read it, or it is a folder")
        }
        return data
    }

    /// Writes `text` to `file` whole: a new file renamed over the old one.
    /// - Throws: `MembershipError.unwritable` naming the file and the system's reason.
    public static func writeWhole(_ text: String, to file: String) throws(MembershipError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw .unwritable(file: file, why: error.localizedDescription)
        }
    }
}
