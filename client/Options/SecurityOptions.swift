import ArgumentParser
import FedAttnTransport

/// Certificates, or the explicit choice of plaintext on loopback.
struct SecurityOptions: ParsableArguments {
    @Option(name: .long, help: "This party's certificate (PEM).") var cert: String?
    @Option(name: .long, help: "Its private key (PEM).") var key: String?
    @Option(name: .long, help: "The federation CA certificate (PEM) that every peer must be signed by.") var ca: String?
    @Flag(name: .long, help: "Plaintext without certificates: refused on anything but a loopback address.") var insecure = false

    func validate() throws {
        if insecure {
            guard cert == nil, key == nil, ca == nil else { throw ValidationError("--insecure takes no --cert, --key or --ca") }
        } else if cert == nil || key == nil || ca == nil {
            throw ValidationError("mutual TLS needs --cert, --key and --ca (or --insecure, on loopback only)")
        }
    }

    func security() throws -> TransportSecurity {
        guard !insecure, let cert, let key, let ca else { return .insecureLoopback }
        return .mutualTLS(try FederationIdentity(certificateFile: cert, keyFile: key, caFile: ca))
    }
}
