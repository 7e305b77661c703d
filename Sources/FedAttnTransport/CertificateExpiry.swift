public import Foundation
import X509

extension FederationIdentity {
    /// When this party's certificate (the leaf, the certificate file's first) expires; nil
    /// when it cannot be read (`init(certificateFile:keyFile:caFile:)` has checked it).
    public var notValidAfter: Date? {
        (try? Self.certificates(in: certificatePEM, file: "certificate"))?.first?.notValidAfter
    }
}

/// When a coordinator warns that its certificate is about to expire, and what it says: from
/// 30 days before, at start and then daily, so that a new one is issued before clients can
/// no longer connect.
public enum CertificateExpiry {
    /// How long before its certificate expires a coordinator starts warning: 30 days, in seconds.
    public static let warningPeriod: TimeInterval = 30 * 86_400

    /// How often the warning is said again while it holds.
    public static let repeatEvery: Duration = .seconds(86_400)

    /// How often serve looks at its certificate files even when no client connects, so that a
    /// renewal is taken (and said, and its expiry exported) within this time.
    public static let lookEvery: Duration = .seconds(60)

    /// The warning for the certificate in `file`, valid until `notAfter`, at `now` (whole
    /// days left, rounded down); nil while more than `warningPeriod` is left.
    public static func warning(file: String, notAfter: Date, now: Date = Date()) -> String? {
        let left = notAfter.timeIntervalSince(now)
        guard left <= warningPeriod else { return nil }
        let date = notAfter.formatted(.iso8601)
        guard left > 0 else {
            return "the certificate \(file) expired on \(date): clients can no longer connect; "
                + "issue a new one (fedattn-coordinator renew --server, or the federation's CA) in its place: serve takes it without a restart"
        }
        let days = Int(left / 86_400)
        let when = days == 0 ? "in less than a day" : "in \(days) day\(days == 1 ? "" : "s")"
        return "the certificate \(file) expires on \(date), \(when): issue a new one (fedattn-coordinator renew --server, "
            + "or the federation's CA) in its place before then (serve takes it without a restart), or no client can connect"
    }
}
