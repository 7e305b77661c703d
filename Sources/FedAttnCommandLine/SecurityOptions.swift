public import ArgumentParser
public import FedAttnTransport

/// Certificates, or the explicit choice of plaintext on loopback: the flags `serve` and
/// `join` share.
public struct SecurityOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(name: .long, help: "This party's certificate (PEM), optionally followed by the intermediate CA certificates that issued it.")
    public var cert: String?
    @Option(name: .long, help: "Its private key (PEM).") public var key: String?
    @Option(
        name: .long, help: "The federation CA certificate (PEM) that every peer must be signed by; or a bundle of several (roots and intermediates).")
    public var ca: String?
    @Flag(name: .long, help: "Plaintext without certificates: refused on anything but a loopback address.") public var insecure = false

    public func validate() throws {
        if insecure {
            guard cert == nil, key == nil, ca == nil else { throw ValidationError("--insecure takes no --cert, --key or --ca") }
        } else if cert == nil || key == nil || ca == nil {
            throw ValidationError("mutual TLS needs --cert, --key and --ca (or --insecure, on loopback only)")
        }
    }

    /// The security these flags ask for; reads the PEM files.
    public func security() throws -> TransportSecurity {
        guard !insecure, let cert, let key, let ca else { return .insecureLoopback }
        return .mutualTLS(try FederationIdentity(certificateFile: cert, keyFile: key, caFile: ca))
    }
}
