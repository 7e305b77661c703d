/// Input the data pipeline cannot use, always naming where the problem is.
public enum DataError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case noSiloFiles(folder: String)
    case missingColumns(file: String, missing: [String], found: [String])
    case malformedRow(file: String, line: Int, reason: String)
    case emptySilo(path: String)
    case unknownUser(id: String)
    case noTrainingExamples(path: String, rows: Int, users: Int)

    public var description: String {
        switch self {
        case .fileNotFound(let path): "\(path): no such file or folder"
        case .unreadable(let path, let reason): "\(path): cannot read: \(reason)"
        case .noSiloFiles(let folder): "\(folder): the folder holds no .csv silo files"
        case .missingColumns(let file, let missing, let found):
            "\(file):1: header lacks column(s) \(missing.joined(separator: ", ")) (found: \(excerpt(found.joined(separator: ", "))))"
        case .malformedRow(let file, let line, let reason): "\(file):\(line): \(reason)"
        case .emptySilo(let path): "\(path): the silo has no usable rows"
        case .unknownUser(let id): "user '\(id)' does not appear in the data"
        case .noTrainingExamples(let path, let rows, let users):
            "\(path): no training examples: its \(rows) rows from \(users) users all fall in the per-user test split (a user's last 20%, at least one row)"
        }
    }
}

/// Text from a file as an error quotes it: control characters escaped (a CR as `\r`), and
/// cut after `ClickLogReader.quotedCharacters` characters with "…", so that no message
/// holds a whole line of the file, or a byte that would move a terminal's cursor.
func excerpt(_ text: String) -> String {
    let limit = ClickLogReader.quotedCharacters
    var out = ""
    for scalar in text.unicodeScalars.prefix(limit) {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: out += scalar.escaped(asASCII: true)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return text.unicodeScalars.dropFirst(limit).isEmpty ? out : out + "…"
}
