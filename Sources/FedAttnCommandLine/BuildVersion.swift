import FedAttnFederation

/// What this build is, as `--version` prints it on both executables: an operator comparing a
/// silo's client with its coordinator reads the release and the wire protocol each speaks.
public enum BuildVersion {
    /// This build's release. Raised at each release; the wire protocol has a number of its own.
    public static let release = "0.3.0"

    /// The wire protocol versions this build's coordinator admits clients of, newest first
    /// (`Coordinator.protocolVersions`: 11; 10, whose clients sum no popularity counts under
    /// secure aggregation; and 9, whose clients share no popularity counts).
    public static let protocols: [UInt32] = Coordinator.protocolVersions

    /// The wire protocols this build's client joins with, newest first: `Coordinator.protocolVersion`,
    /// then 10 and 9 when a coordinator refuses it (an older release).
    public static let clientProtocols: [UInt32] = [Coordinator.protocolVersion] + Coordinator.olderClientProtocols

    /// What `executable --version` prints, with the versions it speaks: e.g.
    /// `fedattn-coordinator 0.3.0 (wire protocol 11, 10, 9)`, `fedattn-client 0.3.0 (wire protocol 11, 10, 9)`.
    public static func line(_ executable: String, protocols: [UInt32] = BuildVersion.protocols) -> String {
        let spoken = protocols.map { "\($0)" }.joined(separator: ", ")
        return "\(executable) \(release) (wire protocol \(spoken))"
    }
}
