import FedAttnTransport
import Foundation
import Testing

/// The coordinator's certificate: when it expires, read from its PEM (the leaf's date, not its
/// CA's), and the warning serve logs from 30 days before (at start, then daily), naming the
/// file, the date and the whole days left.
struct CertificateExpiryTests {
    @Test func theWarningStartsThirtyDaysBeforeAndCountsWholeDaysLeft() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let day: TimeInterval = 86_400
        func warning(_ left: TimeInterval) -> String { CertificateExpiry.warning(file: "cert.pem", notAfter: now + left, now: now) ?? "none" }
        #expect(warning(30 * day + 1) == "none")
        let thirty = warning(30 * day)
        #expect(
            thirty.hasPrefix("the certificate cert.pem expires on \((now + 30 * day).formatted(.iso8601)), in 30 days: issue a new one"), "\(thirty)")
        #expect(
            thirty.hasSuffix("in its place before then (serve takes it without a restart), or no client can connect")
                && thirty.contains("fedattn-coordinator renew --server"), "\(thirty)")
        #expect(warning(9.5 * day).contains(", in 9 days: "), "\(warning(9.5 * day))")
        #expect(warning(1.5 * day).contains(", in 1 day: "), "\(warning(1.5 * day))")
        #expect(warning(3_600).contains(", in less than a day: "), "\(warning(3_600))")
        let expired = warning(-day)
        #expect(
            expired.hasPrefix(
                "the certificate cert.pem expired on \((now - day).formatted(.iso8601)): clients can no longer connect; issue a new one"),
            "\(expired)")
    }

    @Test func theExpiryIsTheCertificatesOwnNotItsCAs() throws {
        let authority = try DevCertificateAuthority(validity: 365 * 86_400)
        let identity = try authority.serverIdentity(validity: 10 * 86_400)
        let notAfter = try #require(identity.notValidAfter)
        // Ten days from its issue (a minute's slack for a slow machine, a second for X.509's
        // whole seconds), not the CA's year.
        let left = notAfter.timeIntervalSinceNow
        #expect(left > 10 * 86_400 - 60 && left <= 10 * 86_400 + 1, "\(left)")
    }
}
