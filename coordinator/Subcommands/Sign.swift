import ArgumentParser
import FedAttnFederation
import FedAttnTransport
import Foundation

extension CoordinatorCommand {
    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a silo's certificate signing request with the federation's CA, and admit the silo; or renew its certificate.",
            discussion: """
                The silo made its own key and the request (fedattn-client request-certificate); its key never \
                leaves it. Checks the request's signature and that its common name is a silo name, writes the \
                silo's certificate (client authentication only) to --out, and lists the silo in DIR/members.txt: \
                a coordinator serving with --members admits it at once, without a restart. Send the silo the \
                certificate and DIR/ca/ca.pem. With --renew, signs a new request of a silo already listed \
                (request-certificate --renew, its key unchanged): a new certificate with a new serial; the one \
                it had stays valid until it expires (nothing revokes it; remove revokes all of a silo's).
                """)

        @Option(name: .long, help: "The federation's folder, as provision wrote it (its CA key, ca/ca.key, signs).") var federation: String
        @Option(name: .long, help: "The silo's request (PEM), from fedattn-client request-certificate.") var csr: String
        @Option(name: .long, help: "Where to write the silo's certificate (PEM); an existing file is not overwritten.") var out: String
        @Option(name: .long, help: "Days the certificate is valid (default 365; never past the CA's end).") var days = 365
        @Flag(
            name: .long,
            help:
                "Renew: the request is from a silo already listed (make sure it came from that silo: the certificate is its identity).")
        var renew = false

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
            let validity = TimeInterval(days) * 86_400
            let issued = try authority.sign(requestPEM: request, file: csr, validity: validity)
            // sign checked the name: a silo name.
            let name = issued.name ?? ""
            let listed = try folder.memberList()?.contains(name) == true
            if listed && !renew {
                throw ValidationError(
                    "silo '\(name)' (\(csr)) is a member of \(federation) already (\(folder.membersFile)): to renew its certificate, give --renew; "
                        + "to replace it, fedattn-coordinator remove --federation \(federation) --silo \(name) first")
            }
            if renew && !listed {
                throw ValidationError(
                    "--renew: silo '\(name)' (\(csr)) is not a member of \(federation) (\(folder.membersFile)): sign without --renew to admit it")
            }
            let earlier = try folder.issuedList()?.serials(of: name) ?? []
            try Provision.write(issued.certificatePEM, to: out)
            try folder.prepareLists()
            try folder.admit(name, serial: issued.serial, validUntil: issued.notValidAfter, how: renew ? "renew" : "sign")
            let until = issued.notValidAfter.formatted(.iso8601)
            if renew {
                let before =
                    earlier.isEmpty
                    ? "its earlier certificates" : "its earlier certificate(s) (serial \(earlier.map(\.description).joined(separator: ", ")))"
                print(
                    "renewed silo '\(name)': its new certificate is \(out) (serial \(issued.serial), valid until \(until)); "
                        + "\(before) stay valid until they expire: renewing revokes nothing (remove revokes every certificate of a silo)")
                print(
                    "send the silo \(out): in place of its cert.pem (beside the key it made the request with), a running join presents it "
                        + "from its next connection, without a restart")
            } else {
                print(
                    "signed silo '\(name)': its certificate is \(out) (serial \(issued.serial), valid until \(until)); listed in \(folder.membersFile)"
                )
                print(
                    "send the silo \(out) and \(folder.caCertificateFile); beside its key, as cert.pem and ca.pem, it joins with: "
                        + "fedattn-client join --coordinator HOST:PORT --cert cert.pem --key key.pem --ca ca.pem --data CLICK_LOG")
            }
            if authority.clips(validity: validity) {
                print("note: --days \(days) would outlive the federation's CA: the certificate ends with the CA, on \(until)")
            }
        }
    }
}
