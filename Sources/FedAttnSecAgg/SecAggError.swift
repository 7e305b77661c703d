/// Why a secure-aggregation step failed; the message names the client, the round or the share.
public enum SecAggError: Error, Equatable, CustomStringConvertible {
    /// A share that does not decode, or shares that do not recover a secret.
    case malformedShare(String)
    /// A message that breaks the protocol (wrong sender, wrong length, a peer not a neighbour,
    /// a request to reveal both kinds of share of one peer).
    case protocolViolation(String)
    /// Too few clients are left to remove a mask: the round cannot complete.
    case tooFewSurvivors(String)

    public var description: String {
        switch self {
        case .malformedShare(let why): "malformed share: \(why)"
        case .protocolViolation(let why): "secure-aggregation protocol violation: \(why)"
        case .tooFewSurvivors(let why): "too few clients left: \(why)"
        }
    }
}
