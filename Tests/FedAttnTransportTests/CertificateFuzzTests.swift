import FedAttnTransport
import Foundation
import Testing
import _FedAttnTestSupport

/// A seeded mutation fuzzer for the PEM files `serve` and `join` load (`make fuzz-asan` runs
/// it longer, under AddressSanitizer): a certificate (alone, or followed by its CA), its key and
/// a CA file (one CA, or a bundle), each mutated as text or, inside one of its blocks, as DER.
/// Every set of files loads (`FederationIdentity(certificateFile:keyFile:caFile:)` and its
/// checks) or is refused with a `TransportError`, never a trap.
struct CertificateFuzzTests {
    static let tokens = [
        "-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", "-----BEGIN PRIVATE KEY-----\n", "-----END PRIVATE KEY-----\n",
        "-----BEGIN EC PRIVATE KEY-----\n", "-----BEGIN", "-----", "\n", "\r\n", "=", "==", "A", "/", "+", "\u{0}",
    ]

    @Test func mutatedPEMFilesLoadOrAreRefused() throws {
        let ca = try DevCertificateAuthority()
        let other = try DevCertificateAuthority(name: "another CA")
        let identity = try ca.clientIdentity(name: "silo-1")
        // The leaf alone; the leaf followed by its CA, with a CA file bundling two roots.
        let seeds: [[String]] = [
            [identity.certificatePEM, identity.privateKeyPEM, identity.caCertificatePEM],
            [identity.certificatePEM + ca.certificatePEM, identity.privateKeyPEM, other.certificatePEM + identity.caCertificatePEM],
        ]
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let paths = ["certificate.pem", "key.pem", "ca.pem"].map { (folder as NSString).appendingPathComponent($0) }
        var mutator = FuzzMutator(seed: 20_261_206, tokens: Self.tokens)
        let iterations = FuzzMutator.iterations(standard: 200, cost: 100)
        var (loaded, refused) = (0, 0)
        for i in 0..<iterations {
            var files = seeds[i % seeds.count].map { Array($0.utf8) }
            let which = mutator.below(files.count)
            files[which] = i % 2 == 0 ? mutator.mutate(files[which]) : Self.mutateDER(files[which], &mutator)
            for (bytes, path) in zip(files, paths) { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
            do throws(TransportError) {
                _ = try FederationIdentity(certificateFile: paths[0], keyFile: paths[1], caFile: paths[2])
                loaded += 1
            } catch {
                refused += 1
            }
        }
        #expect(loaded + refused == iterations && refused > 0)
        print("certificate fuzz: \(iterations) mutated PEM sets, \(loaded) loaded, \(refused) refused, no crash")
    }

    /// `pem` with the DER of one of its blocks mutated, and written back as base64 in lines of
    /// 64 characters (the PEM around it unchanged), so that the mutations reach the ASN.1
    /// parser rather than stop at the base64.
    static func mutateDER(_ pem: [UInt8], _ mutator: inout FuzzMutator) -> [UInt8] {
        let lines = String(decoding: pem, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let begins = lines.indices.filter { lines[$0].hasPrefix("-----BEGIN") }
        guard !begins.isEmpty else { return mutator.mutate(pem) }
        let begin = begins[mutator.below(begins.count)]
        guard let end = lines[(begin + 1)...].firstIndex(where: { $0.hasPrefix("-----END") }),
            let der = Data(base64Encoded: lines[(begin + 1)..<end].joined())
        else { return mutator.mutate(pem) }
        let base64 = Data(mutator.mutate([UInt8](der))).base64EncodedString()
        var body: [String] = []
        var rest = Substring(base64)
        while !rest.isEmpty {
            body.append(String(rest.prefix(64)))
            rest = rest.dropFirst(64)
        }
        return Array((Array(lines[...begin]) + body + Array(lines[end...])).joined(separator: "\n").utf8)
    }
}
