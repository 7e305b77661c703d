/// What is wrong with a federation's membership files (`members.txt`, `revoked.txt`,
/// `issued.txt`) or with an edit of them, naming the file, and the line where there is one.
public enum MembershipError: Error, Equatable, CustomStringConvertible {
    /// A line that is not what such a file holds (a name that is not a silo name, a serial
    /// that is not hexadecimal).
    case badLine(file: String, line: Int, why: String)
    /// A file that cannot be read, or is not UTF-8 text.
    case unreadable(file: String, why: String)
    /// A file that cannot be written.
    case unwritable(file: String, why: String)
    /// `remove` of a silo that the folder neither lists nor holds a certificate of.
    case unknownSilo(name: String, folder: String)

    public var description: String {
        switch self {
        case .badLine(let file, let line, let why): "\(file):\(line): \(why)"
        case .unreadable(let file, let why): "\(file): cannot read it (\(why))"
        case .unwritable(let file, let why): "\(file): cannot write it (\(why))"
        case .unknownSilo(let name, let folder):
            "silo '\(name)' is not a member of the federation in \(folder): its members.txt does not list it, "
                + "and neither its issued.txt nor silos/\(name)/cert.pem holds a certificate of it"
        }
    }
}
