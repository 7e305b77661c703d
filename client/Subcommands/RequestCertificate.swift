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
                join with --cert OUT/cert.pem --key OUT/key.pem --ca OUT/ca.pem.
                """)

        @Option(name: .long, help: "This silo's name: its certificate's common name, its identity in the federation.") var name: String
        @Option(name: .long, help: "Folder for the key and the request (made if missing); a key already there is never overwritten.")
        var out: String

        func validate() throws {
            if let problem = SiloName.problem(with: name) { throw ValidationError("--name \(SiloName.quoted(name)): \(problem)") }
        }

        func run() async throws {
            let files = FileManager.default
            let keyFile = (out as NSString).appendingPathComponent("key.pem")
            let requestFile = (out as NSString).appendingPathComponent("\(name).csr")
            guard !files.fileExists(atPath: keyFile) else {
                throw ValidationError(
                    "\(keyFile) already exists: this silo has a key; move it away first to make a new one (a key is never overwritten)")
            }
            try files.createDirectory(atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let request = try CertificateRequest(siloName: name)
            guard files.createFile(atPath: keyFile, contents: Data(request.privateKeyPEM.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw ValidationError("\(keyFile): cannot write")
            }
            guard files.createFile(atPath: requestFile, contents: Data(request.requestPEM.utf8), attributes: [.posixPermissions: 0o644]) else {
                throw ValidationError("\(requestFile): cannot write")
            }
            print("this silo's key is \(keyFile): it stays here (send it to no one)")
            print(
                "send \(requestFile) to the federation's operator, who signs it: "
                    + "fedattn-coordinator sign --federation FEDERATION_DIR --csr \(name).csr --out \(name)-cert.pem")
            print(
                "put the certificate and the federation's ca.pem they send back into \(out) as cert.pem and ca.pem, then: "
                    + "fedattn-client join --coordinator HOST:PORT --cert \(out)/cert.pem --key \(keyFile) --ca \(out)/ca.pem --data CLICK_LOG")
        }
    }
}
