/// A certificate's serial number, as the revocation list (`revoked.txt`) and the record of
/// issued certificates (`issued.txt`) write it: lowercase hexadecimal byte pairs joined by
/// ':' (`3a:f2:07`). Two spellings of one number are one serial: leading zero bytes (DER
/// puts one before a first byte of 0x80 or more), upper case, and separators do not count.
public struct CertificateSerial: Hashable, Sendable, CustomStringConvertible {
    /// The number's big-endian bytes, without leading zero bytes.
    public let bytes: [UInt8]

    /// The serial whose big-endian bytes are `bytes` (as X.509 or TLS gives them, with or
    /// without a leading zero byte).
    public init(bytes: some Sequence<UInt8>) {
        self.bytes = Array(bytes.drop { $0 == 0 })
    }

    /// Reads a serial written as hexadecimal: byte pairs joined by ':' (`3a:f2:07`, a single
    /// digit between separators allowed, as some tools print them), or one run of digits
    /// (`3af207`, `0x3AF207`). Nil for anything else, and for zero (no certificate has it).
    public init?(_ text: String) {
        var digits = Substring(text.lowercased())
        if digits.hasPrefix("0x") { digits = digits.dropFirst(2) }
        var bytes: [UInt8] = []
        if digits.contains(":") {
            for part in digits.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...2).contains(part.count), let byte = UInt8(part, radix: 16) else { return nil }
                bytes.append(byte)
            }
        } else {
            guard !digits.isEmpty, digits.allSatisfy(\.isHexDigit) else { return nil }
            let even: String = digits.count % 2 == 1 ? "0" + String(digits) : String(digits)
            var index = even.startIndex
            while index < even.endIndex {
                let next = even.index(index, offsetBy: 2)
                guard let byte = UInt8(even[index..<next], radix: 16) else { return nil }
                bytes.append(byte)
                index = next
            }
        }
        let significant = bytes.drop { $0 == 0 }
        // RFC 5280 allows 20 bytes; a little room for CAs that are generous with them.
        guard !significant.isEmpty, significant.count <= 32 else { return nil }
        self.bytes = Array(significant)
    }

    public var description: String {
        let hex = Array("0123456789abcdef")
        return bytes.map { String([hex[Int($0 >> 4)], hex[Int($0 & 0x0f)]]) }.joined(separator: ":")
    }
}
