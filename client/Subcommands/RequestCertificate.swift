import ArgumentParser
import FedAttnFederation
import FedAttnTransport
import Foundation

extension ClientCommand {
    struct RequestCertificate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "request-certificate",
            abstract: "Make this silo's private key and a certificate signing request for the federation's operator to sign.",
            discussion: """
                Writes OUT/key.pem (readable by its owner only: it never leaves this silo) and OUT/NAME.csr. Send \
                the .csr to the federation's operator, who signs it (fedattn-coordinator sign) and sends back the \
                silo's certificate and the federation's CA certificate: put them in OUT as cert.pem and ca.pem, and \
                join with --cert OUT/cert.pem --key OUT/key.pem --ca OUT/ca.pem. To renew the certificate before it \
                expires, --renew makes a new request with the key already in OUT (the operator signs it with \
                sign --renew); the certificate sent back replaces OUT/cert.pem, and a running join presents it from \
                its next connection, without a restart.
                """)

        @Option(name: .long, help: "This silo's name: its certificate's common name, its identity in the federation.") var name: String
        @Option(name: .long, help: "Folder for the key and the request (made if missing); a key already there is never overwritten.")
        var out: String
        @Flag(name: .long, help: "Renew: a new request signed with the key already in OUT/key.pem, instead of a new key.") var renew = false

        func validate() throws {
            if let problem = SiloName.problem(with: name) { throw ValidationError("--name \(SiloName.quoted(name)): \(problem)") }
        }

        func run() async throws {
            let files = FileManager.default
            let keyFile = (out as NSString).appendingPathComponent("key.pem")
            let requestFile = (out as NSString).appendingPathComponent("\(name).csr")
            let request: CertificateRequest
            if renew {
                guard let data = files.contents(atPath: keyFile), let key = String(data: data, encoding: .utf8) else {
                    throw ValidationError(
                        "--renew: \(keyFile) cannot be read: renew with the folder that holds this silo's key (the --out of its first request)")
                }
                request = try CertificateRequest(siloName: name, privateKeyPEM: key, keyFile: keyFile)
            } else {
                guard !files.fileExists(atPath: keyFile) else {
                    throw ValidationError(
                        "\(keyFile) already exists: this silo has a key; to renew its certificate with it, give --renew; "
                            + "to make a new key, move it away first (a key is never overwritten)")
                }
                try files.createDirectory(atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                request = try CertificateRequest(siloName: name)
                guard files.createFile(atPath: keyFile, contents: Data(request.privateKeyPEM.utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw ValidationError("\(keyFile): cannot write")
                }
            }
            guard files.createFile(atPath: requestFile, contents: Data(request.requestPEM.utf8), attributes: [.posixPermissions: 0o644]) else {
                throw ValidationError("\(requestFile): cannot write")
            }
            print("this silo's key is \(keyFile): it stays here (send it to no one)")
            let sign = "fedattn-coordinator sign\(renew ? " --renew" : "") --federation FEDERATION_DIR --csr \(name).csr --out \(name)-cert.pem"
            print("send \(requestFile) to the federation's operator, who signs it: \(sign)")
            if renew {
                print(
                    "put the certificate they send back in place of \(out)/cert.pem (a new file renamed over the old): a running join "
                        + "presents it from its next connection, without a restart; the old certificate stays valid until it expires")
            } else {
                print(
                    "put the certificate and the federation's ca.pem they send back into \(out) as cert.pem and ca.pem, then: "
                        + "fedattn-client join --coordinator HOST:PORT --cert \(out)/cert.pem --key \(keyFile) --ca \(out)/ca.pem --data CLICK_LOG")
            }
        }
    }
}
