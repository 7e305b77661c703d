public import Foundation

/// The allow-list, `members.txt`: the silos a federation admits, one name a line. A '#'
/// starts a comment; blank lines are skipped. An edit (`provision`, `sign`, `remove`) keeps
/// the operator's comments and order; every name is checked when the file is read.
public struct MemberList: Sendable, Equatable {
    /// The file's lines as they are.
    public private(set) var lines: [String]

    /// What a new list starts with.
    public static let header = """
        # The silos this federation admits: one name a line; '#' starts a comment.
        # `fedattn-coordinator serve --members FILE` re-reads it when it changes (no restart);
        # `provision` and `sign` add a silo, `remove` takes one off.
        """

    /// A new list of `names`, under the header.
    public init(names: [String]) {
        lines = Self.header.split(separator: "\n").map(String.init) + names
    }

    /// Reads the list from `text` (the contents of `file`, which errors name).
    /// - Throws: `MembershipError.badLine` at the first line that is not a silo name.
    public init(text: String, file: String) throws(MembershipError) {
        lines = MembershipText.lines(of: text)
        for (index, line) in lines.enumerated() {
            let name = MembershipText.content(of: line)
            if !name.isEmpty, let problem = SiloName.problem(with: name) {
                throw .badLine(file: file, line: index + 1, why: "\(SiloName.quoted(name)) is not a silo name: \(problem)")
            }
        }
    }

    /// Reads the list from the bytes of `file`.
    /// - Throws: `MembershipError.unreadable` for bytes that are not UTF-8, `.badLine` as above.
    public init(_ data: Data, file: String) throws(MembershipError) {
        try self.init(text: try MembershipText.decode(data, file: file), file: file)
    }

    /// The names listed, in file order, each once.
    public var names: [String] {
        var seen: Set<String> = []
        return lines.map(MembershipText.content(of:)).filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    public func contains(_ name: String) -> Bool { lines.contains { MembershipText.content(of: $0) == name } }

    /// Lists `name` at the end, unless it is listed already.
    public mutating func add(_ name: String) {
        if !contains(name) { lines.append(name) }
    }

    /// Takes every line listing `name` off.
    /// - Returns: whether it was listed.
    @discardableResult
    public mutating func remove(_ name: String) -> Bool {
        let before = lines.count
        lines.removeAll { MembershipText.content(of: $0) == name }
        return lines.count != before
    }

    /// The file's text.
    public var text: String { lines.map { $0 + "\n" }.joined() }
}

/// How the membership files are read: lines (LF or CRLF), each line's content before its
/// comment, and bytes that must be UTF-8.
enum MembershipText {
    static func lines(of text: String) -> [String] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    /// The line before any '#', without surrounding white space.
    static func content(of line: String) -> String {
        let beforeComment = line.prefix { $0 != "#" }
        return beforeComment.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func decode(_ data: Data, file: String) throws(MembershipError) -> String {
        guard let text = String(data: data, encoding: .utf8) else { throw .unreadable(file: file, why: "it is not UTF-8 text") }
        return text
    }
}
