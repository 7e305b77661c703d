public import Foundation

/// A list of certificates, one a line: its serial (hexadecimal, `CertificateSerial`), the silo
/// it was issued to, then anything (a date, how it was issued); a '#' starts a comment. Two
/// files take this form: `revoked.txt`, the certificates the coordinator refuses, and
/// `issued.txt`, every certificate the federation's CA signed for a silo (which `remove`
/// revokes, all of a silo's at once).
public struct CertificateLedger: Sendable, Equatable {
    /// One certificate listed.
    public struct Entry: Sendable, Equatable {
        public let serial: CertificateSerial
        public let name: String
    }

    /// The file's lines as they are.
    public private(set) var lines: [String]
    /// The certificates listed, in file order.
    public private(set) var entries: [Entry]

    /// What a new revocation list starts with.
    public static let revokedHeader = """
        # Certificates the coordinator refuses, one a line: serial (hexadecimal), the silo it was issued to, then a note.
        # `fedattn-coordinator serve` re-reads it when it changes (no restart); `fedattn-coordinator remove` adds to it.
        """
    /// What a new record of issued certificates starts with.
    public static let issuedHeader = """
        # Every certificate this federation's CA signed for a silo: serial, silo, valid until, how.
        # `fedattn-coordinator remove` revokes every one of a silo's.
        """

    /// An empty list under `header`.
    public init(header: String) {
        lines = header.split(separator: "\n").map(String.init)
        entries = []
    }

    /// Reads the list from `text` (the contents of `file`, which errors name).
    /// - Throws: `MembershipError.badLine` at the first line whose serial is not hexadecimal,
    ///   or whose silo is missing or not a silo name.
    public init(text: String, file: String) throws(MembershipError) {
        lines = MembershipText.lines(of: text)
        entries = []
        for (index, line) in lines.enumerated() {
            let fields = MembershipText.content(of: line).split(whereSeparator: \.isWhitespace).map(String.init)
            guard let first = fields.first else { continue }
            guard let serial = CertificateSerial(first) else {
                throw .badLine(file: file, line: index + 1, why: "\(SiloName.quoted(first)) is not a certificate serial (hexadecimal, e.g. 3a:f2:07)")
            }
            guard fields.count >= 2 else {
                throw .badLine(file: file, line: index + 1, why: "serial \(serial) names no silo: write the silo's name after it")
            }
            if let problem = SiloName.problem(with: fields[1]) {
                throw .badLine(file: file, line: index + 1, why: "\(SiloName.quoted(fields[1])) is not a silo name: \(problem)")
            }
            entries.append(Entry(serial: serial, name: fields[1]))
        }
    }

    /// Reads the list from the bytes of `file`.
    /// - Throws: `MembershipError.unreadable` for bytes that are not UTF-8, `.badLine` as above.
    public init(_ data: Data, file: String) throws(MembershipError) {
        try self.init(text: try MembershipText.decode(data, file: file), file: file)
    }

    /// Each serial listed, with the silo it was issued to (the first line's, if listed twice).
    public var bySerial: [CertificateSerial: String] {
        var map: [CertificateSerial: String] = [:]
        for entry in entries where map[entry.serial] == nil { map[entry.serial] = entry.name }
        return map
    }

    /// The serials listed for `name`, in file order, each once.
    public func serials(of name: String) -> [CertificateSerial] {
        var seen: Set<CertificateSerial> = []
        return entries.filter { $0.name == name && seen.insert($0.serial).inserted }.map(\.serial)
    }

    public func contains(_ serial: CertificateSerial) -> Bool { entries.contains { $0.serial == serial } }

    /// Adds a line for `serial`, issued to `name` (a silo name), followed by `note` (no newline).
    public mutating func append(_ serial: CertificateSerial, name: String, note: String) {
        lines.append("\(serial) \(name)\(note.isEmpty ? "" : " \(note)")")
        entries.append(Entry(serial: serial, name: name))
    }

    /// The file's text.
    public var text: String { lines.map { $0 + "\n" }.joined() }
}
