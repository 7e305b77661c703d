import FedAttnFederation

/// What this build is, as `--version` prints it on both executables: an operator comparing a
/// silo's client with its coordinator reads the release and the wire protocol each speaks.
public enum BuildVersion {
    /// This build's release. Raised at each release; the wire protocol has a number of its own.
    public static let release = "0.1.0"

    /// The wire protocol versions this build speaks: a client joins, and a coordinator admits
    /// a client, only at one of these (`Coordinator.protocolVersion`).
    public static let protocols: [UInt32] = [Coordinator.protocolVersion]

    /// What `executable --version` prints, e.g. `fedattn-client 0.1.0 (wire protocol 9)`.
    public static func line(_ executable: String) -> String {
        let spoken = protocols.map { "\($0)" }.joined(separator: ", ")
        return "\(executable) \(release) (wire protocol \(spoken))"
    }
}
