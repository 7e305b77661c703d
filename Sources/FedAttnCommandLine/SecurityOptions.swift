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
    @Flag(name: .long, help: "Plaintext without certificates: refused on anything but a loopback address (a flag only, never from --config).")
    public var insecure = false

    /// What plaintext refuses beside it.
    static let insecureTakesNoFiles = "--insecure takes no --cert, --key or --ca"
    /// What mutual TLS needs.
    static let needsAllThree = "mutual TLS needs --cert, --key and --ca (or --insecure, on loopback only)"

    /// Refuses plaintext with certificate files beside it. Whether all three files are given is
    /// `requireComplete()`'s to say: `serve` may take them from its --config file.
    public func validate() throws {
        if insecure, cert != nil || key != nil || ca != nil { throw ValidationError(Self.insecureTakesNoFiles) }
    }

    /// Refuses flags that ask for mutual TLS without all three files.
    public func requireComplete() throws {
        guard insecure || (cert != nil && key != nil && ca != nil) else { throw ValidationError(Self.needsAllThree) }
    }

    /// The certificate files these flags name, followed as they are renewed (`IdentityFiles`:
    /// each new connection presents the certificate they hold then); nil with --insecure.
    /// `report` hears each renewal taken or refused.
    /// - Throws: `ValidationError` without all three files; `TransportError` naming the file
    ///   that cannot be read or does not check.
    public func identityFiles(report: @escaping @Sendable (IdentityFiles.Change) -> Void) throws -> IdentityFiles? {
        try requireComplete()
        guard !insecure, let cert, let key, let ca else { return nil }
        return try IdentityFiles(certificateFile: cert, keyFile: key, caFile: ca, report: report)
    }
}
