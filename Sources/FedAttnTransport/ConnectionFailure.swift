import GRPCCore
import NIOSSL

/// Why a TLS connection between a client and the coordinator could not be made, classified
/// from what BoringSSL reports, with what to change. These are configuration errors: trying
/// again changes nothing, so a client stops at once instead of retrying as if the network
/// were down. Each side says it from its own point of view (`Side`).
public struct ConnectionFailure: Error, Equatable, CustomStringConvertible {
    private enum Kind: Equatable {
        case untrustedPeer
        case unknownCA
        case expired
        case noCertificate
        case nameMismatch(String)
        case peerIsPlaintext
        case peerExpectsTLS
    }

    /// Which end reports the failure.
    public enum Side: Sendable { case client, coordinator }

    private let kind: Kind
    private let side: Side

    private init(_ kind: Kind, _ side: Side) {
        self.kind = kind
        self.side = side
    }

    /// The failure behind `error` (a gRPC or NIO error, with its causes), or nil when it is
    /// not a TLS handshake failure. `plaintext` says whether this side itself runs without TLS.
    public static func classify(_ error: any Error, side: Side, plaintext: Bool = false) -> ConnectionFailure? {
        let chain = errorChain(error)
        let text = chain.map { String(reflecting: $0) }.joined(separator: " ")
        let hostname = chain.lazy.compactMap { $0 as? NIOSSLExtraError }.first { $0 == .failedToValidateHostname }?.description
        if let hostname { return ConnectionFailure(.nameMismatch(hostname), side) }
        let kind: Kind? =
            if text.contains("CERTIFICATE_VERIFY_FAILED") { .untrustedPeer } else if text.contains("ALERT_UNKNOWN_CA") {
                .unknownCA
            } else if text.contains("ALERT_CERTIFICATE_EXPIRED") {
                .expired
            } else if text.contains("CERTIFICATE_REQUIRED") || text.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") {
                .noCertificate
            } else if text.contains("WRONG_VERSION_NUMBER") || text.contains("HTTP_REQUEST") {
                side == .client ? .peerIsPlaintext : .peerExpectsTLS
            } else if plaintext && side == .client && text.contains("HTTP/2 connection preface") { .peerExpectsTLS } else { nil }
        return kind.map { ConnectionFailure($0, side) }
    }

    public var description: String {
        switch (kind, side) {
        case (.untrustedPeer, .client):
            "TLS handshake failed: the coordinator's certificate was not accepted: it is not signed by the CA in --ca, or it has expired"
        case (.untrustedPeer, .coordinator):
            "TLS handshake failed: the client's certificate is not signed by the federation CA, or it has expired"
        case (.unknownCA, .client):
            "TLS handshake failed: the coordinator does not trust this client's certificate: it was issued by another CA than the federation's"
        case (.unknownCA, .coordinator): "TLS handshake failed: the client does not trust the coordinator's certificate (its --ca is another CA)"
        case (.expired, .client): "TLS handshake failed: the coordinator refused this client's certificate as expired; ask for a new one"
        case (.expired, .coordinator): "TLS handshake failed: the client refused the coordinator's certificate as expired"
        case (.noCertificate, .client): "TLS handshake failed: the coordinator requires a client certificate (--cert, --key, --ca)"
        case (.noCertificate, .coordinator): "TLS handshake failed: the client presented no certificate"
        case (.nameMismatch(let detail), _): "TLS handshake failed: the coordinator's certificate does not name the host dialled (\(detail))"
        case (.peerIsPlaintext, _):
            "TLS handshake failed: the coordinator speaks plaintext (started with --insecure); drop TLS or restart it with certificates"
        case (.peerExpectsTLS, .client): "the coordinator requires mutual TLS; this client runs --insecure: give it --cert, --key and --ca"
        case (.peerExpectsTLS, .coordinator): "TLS handshake failed: the client speaks plaintext (--insecure) to a TLS coordinator"
        }
    }
}
