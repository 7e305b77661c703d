/// What a silo may be called: its certificate's common name (or, on plaintext loopback, the
/// name it gives) is its identity in every log line, metric, state-folder record and file
/// name, so it is checked before it is used anywhere: 1 to 64 characters, lowercase ASCII
/// letters, digits, '-', '_' and '.', starting with a letter or digit. No control characters
/// (a newline would forge a log line), no path steps, and no two spellings of one silo
/// (`SILO-09` or `silo-09 ` beside `silo-09`).
public enum SiloName {
    /// The longest name.
    public static let maxLength = 64

    /// Why `name` is not a silo name; nil when it is one.
    public static func problem(with name: String) -> String? {
        guard !name.isEmpty else { return "it is empty" }
        guard name != ".", name != ".." else { return "'.' and '..' are path steps (this folder, the one above), not names" }
        guard name.unicodeScalars.count <= maxLength else { return "it is longer than \(maxLength) characters" }
        let allowed = name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) }
        guard allowed else { return "a silo name holds only lowercase letters a-z, digits, '-', '_' and '.'" }
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) || ("0"..."9").contains(first) else {
            return "a silo name starts with a letter or a digit"
        }
        return nil
    }

    /// `name` as it may be written in a log line whatever it holds: quoted, escaped (a
    /// newline as `\n`), and cut at `maxLength` characters.
    public static func quoted(_ name: String) -> String {
        let cut = name.unicodeScalars.count > maxLength ? String(String.UnicodeScalarView(name.unicodeScalars.prefix(maxLength))) + "…" : name
        return cut.debugDescription
    }
}

/// Text from outside (a refusal's message quoting a client's field) as it may go into one log
/// line: control characters escaped (a newline as `\n`), cut at `limit` characters.
public func printableLogText(_ text: String, limit: Int = 500) -> String {
    var out = ""
    for scalar in text.unicodeScalars.prefix(limit) {
        if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .lineSeparator
            || scalar.properties.generalCategory == .paragraphSeparator
        {
            out += scalar.escaped(asASCII: true)
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return text.unicodeScalars.count > limit ? out + "…" : out
}
