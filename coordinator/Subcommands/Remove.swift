import ArgumentParser
import FedAttnFederation
import FedAttnTransport
import Foundation

extension CoordinatorCommand {
    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a silo from a federation: take it off the allow-list and revoke its certificates.",
            discussion: """
                Takes NAME off DIR/members.txt and adds every certificate the federation issued to it (those \
                DIR/issued.txt records, and its kit's DIR/silos/NAME/cert.pem) to DIR/revoked.txt. A coordinator \
                serving with --members DIR/members.txt refuses it at its next call, on a connection already open \
                too, and its certificate at the TLS handshake; no restart. Needs no CA key.
                """)

        @Option(name: .long, help: "The federation's folder, as provision wrote it.") var federation: String
        @Option(name: .long, help: "The silo to remove.") var silo: String

        func validate() throws {
            if let problem = SiloName.problem(with: silo) { throw ValidationError("--silo \(SiloName.quoted(silo)): \(problem)") }
        }

        func run() async throws {
            let folder = FederationFolder(federation)
            guard folder.holdsFederation else {
                throw ValidationError("--federation \(federation) holds no federation (no \(folder.caCertificateFile))")
            }
            let kitCertificate = folder.kit(silo) + "/cert.pem"
            var kitSerials: [CertificateSerial] = []
            if FileManager.default.fileExists(atPath: kitCertificate) { kitSerials.append(try IssuedCertificate(file: kitCertificate).serial) }
            let removal = try folder.remove(silo, kitCertificates: kitSerials)
            var done: [String] = []
            if removal.wasListed { done.append("took '\(silo)' off \(folder.membersFile)") }
            if !removal.revoked.isEmpty {
                let serials = removal.revoked.map(\.description).joined(separator: ", ")
                done.append(
                    "revoked \(removal.revoked.count) certificate\(removal.revoked.count == 1 ? "" : "s") of it in \(folder.revokedFile) (\(serials))"
                )
            }
            if !removal.alreadyRevoked.isEmpty {
                done.append("\(removal.alreadyRevoked.count) certificate\(removal.alreadyRevoked.count == 1 ? " was" : "s were") revoked already")
            }
            print(done.isEmpty ? "silo '\(silo)': nothing left to do" : done.joined(separator: "; "))
            if removal.revoked.isEmpty && removal.alreadyRevoked.isEmpty {
                print(
                    "note: no certificate of '\(silo)' is recorded in \(folder.issuedFile) or its kit, so none is revoked: "
                        + "only a coordinator serving with --members \(folder.membersFile) refuses it")
            }
            print(
                "a coordinator serving with --members \(folder.membersFile) refuses '\(silo)' at its next call, without a restart"
                    + (FileManager.default.fileExists(atPath: folder.kit(silo))
                        ? "; its kit \(folder.kit(silo)) stays (delete it to provision the name again)" : ""))
        }
    }
}
