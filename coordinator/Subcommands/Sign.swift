import ArgumentParser
import FedAttnFederation
import FedAttnTransport
import Foundation

extension CoordinatorCommand {
    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a silo's certificate signing request with the federation's CA, and admit the silo.",
            discussion: """
                The silo made its own key and the request (fedattn-client request-certificate); its key never \
                leaves it. Checks the request's signature and that its common name is a silo name, writes the \
                silo's certificate (client authentication only) to --out, and lists the silo in DIR/members.txt: \
                a coordinator serving with --members admits it at once, without a restart. Send the silo the \
                certificate and DIR/ca/ca.pem.
                """)

        @Option(name: .long, help: "The federation's folder, as provision wrote it (its CA key, ca/ca.key, signs).") var federation: String
        @Option(name: .long, help: "The silo's request (PEM), from fedattn-client request-certificate.") var csr: String
        @Option(name: .long, help: "Where to write the silo's certificate (PEM); an existing file is not overwritten.") var out: String
        @Option(name: .long, help: "Days the certificate is valid (at most until the CA expires).") var days = 365

        func validate() throws {
            guard days >= 1 else { throw ValidationError("--days must be at least 1") }
        }

        func run() async throws {
            let folder = FederationFolder(federation)
            guard folder.holdsFederation else {
                throw ValidationError(
                    "--federation \(federation) holds no federation (no \(folder.caCertificateFile)); make one with fedattn-coordinator provision")
            }
            guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("--out \(out) already exists: give a new file") }
            guard let data = FileManager.default.contents(atPath: csr), let request = String(data: data, encoding: .utf8) else {
                throw ValidationError("--csr \(csr): cannot read it")
            }
            let authority = try DevCertificateAuthority(certificateFile: folder.caCertificateFile, keyFile: folder.caKeyFile)
            let issued = try authority.sign(requestPEM: request, file: csr, validity: TimeInterval(days) * 86_400)
            // sign checked the name: a silo name.
            let name = issued.name ?? ""
            if try folder.memberList()?.contains(name) == true {
                throw ValidationError(
                    "silo '\(name)' (\(csr)) is a member of \(federation) already (\(folder.membersFile)); to give it a new certificate, "
                        + "fedattn-coordinator remove --federation \(federation) --silo \(name) first")
            }
            try Provision.write(issued.certificatePEM, to: out)
            try folder.prepareLists()
            try folder.admit(name, serial: issued.serial, validUntil: issued.notValidAfter, how: "sign")
            print(
                "signed silo '\(name)': its certificate is \(out) (serial \(issued.serial), valid until \(issued.notValidAfter.formatted(.iso8601))); "
                    + "listed in \(folder.membersFile)")
            print(
                "send the silo \(out) and \(folder.caCertificateFile); beside its key, as cert.pem and ca.pem, it joins with: "
                    + "fedattn-client join --coordinator HOST:PORT --cert cert.pem --key key.pem --ca ca.pem --data CLICK_LOG")
        }
    }
}
