import NIOCore
import SwiftASN1
import X509

/// The names a coordinator's certificate is valid for (its subject alternative names: DNS
/// names and IP addresses), as `provision` writes them and clients check them: made from the
/// hosts an operator gives, read back as text, and matched against the address serve listens on.
enum ServerNames {
    /// `hosts` as subject alternative names: an IPv4 address as an IP address, anything else
    /// (a DNS name; an IPv6 address too, as `provision` has always written it) as a DNS name.
    static func generalNames(_ hosts: [String]) -> [GeneralName] {
        hosts.map { host in
            let octets = host.split(separator: ".").compactMap { UInt8($0) }
            return octets.count == 4 ? .ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets))) : .dnsName(host)
        }
    }

    /// The DNS names and IP addresses (as text: `10.0.0.5`, `::1`) `certificate` is valid for,
    /// in its order; other kinds of name are passed over.
    /// - Throws: when its subject alternative names cannot be read.
    static func names(of certificate: Certificate) throws -> [String] {
        guard let alternatives = try certificate.extensions.subjectAlternativeNames else { return [] }
        return alternatives.compactMap { (name: GeneralName) -> String? in
            switch name {
            case .dnsName(let host): return host
            case .ipAddress(let bytes): return try? NIOCore.SocketAddress(packedIPAddress: ByteBuffer(bytes: bytes.bytes), port: 0).ipAddress
            default: return nil
            }
        }
    }

    /// Whether `host` listens on every interface (0.0.0.0, ::), so that no one name is served.
    static func isWildcard(_ host: String) -> Bool {
        let canonical = canonicalAddress(host)
        return canonical == "0.0.0.0" || canonical == "::"
    }

    /// Whether `names` (a certificate's, as `names(of:)` reads them) include `host`: the same
    /// IP address however written, or the same DNS name in any case; `localhost` is also named
    /// by 127.0.0.1 or ::1, where serve listens for it.
    static func names(_ names: [String], include host: String) -> Bool {
        let candidates = host == "localhost" ? ["localhost", "127.0.0.1", "::1"] : [host]
        return candidates.contains { candidate in
            let address = canonicalAddress(candidate)
            return names.contains { name in
                name.lowercased() == candidate.lowercased() || (address != nil && canonicalAddress(name) == address)
            }
        }
    }

    /// An IP address in its canonical text (`::1` for `0:0:0:0:0:0:0:1`); nil for anything else.
    private static func canonicalAddress(_ text: String) -> String? {
        (try? NIOCore.SocketAddress(ipAddress: text, port: 0))?.ipAddress
    }
}
