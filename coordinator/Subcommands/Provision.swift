import ArgumentParser
import FedAttnFederation
import FedAttnTransport
import Foundation

extension CoordinatorCommand {
    struct Provision: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a federation (its CA, the coordinator's certificate, one start-up kit per silo), or add silos to one.",
            discussion: """
                A new DIR: writes DIR/ca/ (the CA certificate and key: keep the key offline), DIR/coordinator/ \
                (cert.pem, key.pem, ca.pem), DIR/silos/NAME/ (cert.pem, key.pem, ca.pem and join.sh, the exact \
                command to run in that silo), DIR/members.txt listing the silos (serve --members), DIR/revoked.txt \
                and DIR/issued.txt. A DIR that holds a federation already: adds each silo, its kit signed by the \
                federation's own CA (DIR/ca/ca.key), and lists it in DIR/members.txt; a coordinator serving with \
                --members admits it at once, without a restart. Keys are readable by their owner only. For a silo \
                that makes its own key, run `fedattn-client request-certificate` there and `fedattn-coordinator \
                sign` here instead: its key never leaves it. The CA is valid for --ca-days (10 years), each \
                certificate for --days (1 year) and never past the CA; renew a certificate from the same CA with \
                `fedattn-coordinator renew` (or `sign --renew`) before it expires.
                """)

        @Option(name: .long, help: "Folder to write into: a new federation, or one that holds a federation to add silos to.") var out: String
        @Option(
            name: .long, parsing: .upToNextOption,
            help: "Names or IP addresses clients dial the coordinator by (a new federation; adding, join.sh dials the federation's own).")
        var coordinatorHost: [String] = []
        @Option(name: .long, help: "The port clients dial (default 7443; adding, the federation's own).") var port: Int?
        @Option(name: .long, parsing: .upToNextOption, help: "Silo names; each becomes a certificate's common name.") var silo: [String]
        @Option(name: .long, help: "Days the certificates are valid (default 365; never past the CA's end: a longer span ends with the CA).")
        var days = 365
        @Option(
            name: .long,
            help:
                "A new federation: days its CA is valid (default \(Provision.defaultCADays), 10 years); no certificate of the federation is valid past it, and a CA is not renewed in place."
        )
        var caDays: Int?

        /// How long a new federation's CA is valid unless --ca-days says: 10 years, as NVIDIA
        /// FLARE's provisioning makes its root CA; the leaves get a year each and are renewed.
        static let defaultCADays = 3650

        func validate() throws {
            guard !silo.isEmpty else { throw ValidationError("name at least one --silo") }
            if let duplicate = Dictionary(grouping: silo, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
                throw ValidationError("silo '\(duplicate)' is named twice: each silo needs its own name")
            }
            for name in silo {
                if let problem = SiloName.problem(with: name) { throw ValidationError("--silo \(SiloName.quoted(name)): \(problem)") }
            }
            guard days >= 1 else { throw ValidationError("--days must be at least 1") }
            if let caDays, caDays < 1 { throw ValidationError("--ca-days must be at least 1") }
            if let port, !(1...65_535).contains(port) { throw ValidationError("--port \(port) is not a port clients can dial: give 1...65535") }
        }

        func run() async throws {
            let folder = FederationFolder(out)
            // A federation inside another's folder (its silos/, say) would have a CA of its own,
            // whose certificates the other's coordinator refuses.
            if let enclosing = FederationFolder.enclosing(out) {
                throw ValidationError(
                    "\(out) lies inside the federation in \(enclosing.path) (it holds \(enclosing.caCertificateFile)): a federation made here "
                        + "would have a CA of its own, whose certificates that coordinator refuses; to add silos to it, give --out \(enclosing.path)")
            }
            if folder.holdsFederation {
                try addSilos(to: folder)
            } else {
                guard !FileManager.default.fileExists(atPath: (out as NSString).appendingPathComponent("ca")) else {
                    throw ValidationError("\(out)/ca exists but holds no ca.pem: not a federation provision made; choose another folder")
                }
                try createFederation(in: folder)
            }
        }

        /// A new federation in `folder`: its CA, the coordinator's identity, the silos' kits and lists.
        private func createFederation(in folder: FederationFolder) throws {
            guard !coordinatorHost.isEmpty else {
                throw ValidationError("name at least one --coordinator-host: the names or addresses the silos dial the coordinator by")
            }
            // Every kit's folder checked before anything is written.
            for name in silo { try Self.checkKitFolder(for: name, in: folder.silosFolder) }
            let validity = TimeInterval(days) * 86_400
            let address = "\(coordinatorHost[0]):\(port ?? 7443)"
            let caDays = self.caDays ?? Self.defaultCADays
            let authority = try DevCertificateAuthority(name: "FedAttention federation CA", validity: TimeInterval(caDays) * 86_400)
            try Self.write(authority.certificatePEM, to: folder.caCertificateFile)
            try Self.write(authority.privateKeyPEM, to: folder.caKeyFile, secret: true)
            let server = try authority.serverIdentity(hosts: coordinatorHost, validity: validity)
            try Self.write(server.certificatePEM, to: folder.coordinatorFolder + "/cert.pem")
            try Self.write(server.privateKeyPEM, to: folder.coordinatorFolder + "/key.pem", secret: true)
            try Self.write(server.caCertificatePEM, to: folder.coordinatorFolder + "/ca.pem")
            try Self.write(address + "\n", to: folder.addressFile)
            var issued: [(name: String, certificate: IssuedCertificate)] = []
            for name in silo {
                let identity = try authority.clientIdentity(name: name, validity: validity)
                let certificate = try Self.writeKit(name, identity: identity, in: folder, dialling: address)
                issued.append((name: name, certificate: certificate))
            }
            try folder.prepareLists()
            for (name, certificate) in issued {
                try folder.admit(name, serial: certificate.serial, validUntil: certificate.notValidAfter, how: "provision")
            }
            print("federation written to \(out): ca/, coordinator/, and \(silo.count) silo kit(s) in silos/, listed in members.txt")
            let leavesEnd = try IssuedCertificate(pem: server.certificatePEM, file: folder.coordinatorFolder + "/cert.pem").notValidAfter
            let span = authority.clips(validity: validity) ? "--days \(days) would outlive the CA: they end with it" : "\(days) days"
            print(
                "the CA is valid until \(authority.notValidAfter.formatted(.iso8601)) (\(caDays) days); the certificates until "
                    + "\(leavesEnd.formatted(.iso8601)) (\(span)); renew them before then (fedattn-coordinator renew)")
            print(
                "start the coordinator with: fedattn-coordinator serve --port \(port ?? 7443) --cert \(out)/coordinator/cert.pem --key \(out)/coordinator/key.pem --ca \(out)/coordinator/ca.pem --members \(folder.membersFile) --state STATE_DIR"
            )
        }

        /// Each `--silo` added to the federation in `folder`, its kit signed by the federation's CA.
        private func addSilos(to folder: FederationFolder) throws {
            let authority = try DevCertificateAuthority(certificateFile: folder.caCertificateFile, keyFile: folder.caKeyFile)
            if caDays != nil {
                throw ValidationError(
                    "--ca-days makes a new federation's CA: \(out) holds one already, valid until \(authority.notValidAfter.formatted(.iso8601)) "
                        + "(a CA is not renewed in place: every kit trusts it)")
            }
            let listed = try folder.memberList()
            for name in silo {
                if listed?.contains(name) == true {
                    throw ValidationError(
                        "--silo '\(name)' is a member of \(out) already (\(folder.membersFile)); to give it a new certificate, "
                            + "fedattn-coordinator remove --federation \(out) --silo \(name) first")
                }
                try Self.checkKitFolder(for: name, in: folder.silosFolder)
            }
            let address = try dialledAddress(of: folder)
            try folder.prepareLists()
            for name in silo {
                let identity = try authority.clientIdentity(name: name, validity: TimeInterval(days) * 86_400)
                let certificate = try Self.writeKit(name, identity: identity, in: folder, dialling: address)
                try folder.admit(name, serial: certificate.serial, validUntil: certificate.notValidAfter, how: "provision")
            }
            let names = silo.map { "'\($0)'" }.joined(separator: ", ")
            print("added \(names) to the federation in \(out): kit(s) in \(folder.silosFolder)/, signed by its CA, listed in \(folder.membersFile)")
            if authority.clips(validity: TimeInterval(days) * 86_400) {
                print(
                    "note: --days \(days) would outlive the federation's CA: the certificates end with it, on "
                        + "\(authority.notValidAfter.formatted(.iso8601))")
            }
            print(
                "a coordinator serving with --members \(folder.membersFile) admits \(silo.count == 1 ? "it" : "them") at its next call, without a restart; "
                    + "one serving without --members admits any certificate of this CA already")
        }

        /// The address the kits' join.sh dial: --coordinator-host and --port when given, else
        /// the federation's own (coordinator/address.txt; for a federation provisioned before
        /// it, the coordinator certificate's name and port 7443).
        private func dialledAddress(of folder: FederationFolder) throws -> String {
            var recordedHost: String?, recordedPort: Int?
            if let recorded = (try? String(contentsOfFile: folder.addressFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines),
                let colon = recorded.lastIndex(of: ":")
            {
                recordedHost = String(recorded[..<colon])
                recordedPort = Int(recorded[recorded.index(after: colon)...])
            }
            if let host = coordinatorHost.first ?? recordedHost {
                return "\(host):\(port ?? recordedPort ?? 7443)"
            }
            let certificate = try IssuedCertificate(file: folder.coordinatorFolder + "/cert.pem")
            guard let host = certificate.name else {
                throw ValidationError(
                    "\(folder.coordinatorFolder)/cert.pem names no host: give --coordinator-host (and --port) for the kits' join.sh")
            }
            print("note: join.sh dials \(host):\(port ?? 7443) (the coordinator certificate's name); give --coordinator-host and --port to change it")
            return "\(host):\(port ?? 7443)"
        }

        /// Writes silo `name`'s kit (certificate, key, CA, join.sh dialling `address`) into its
        /// folder in `folder`'s silos/.
        /// - Returns: the certificate written, for the record of issued certificates.
        private static func writeKit(
            _ name: String, identity: FederationIdentity, in folder: FederationFolder, dialling address: String
        ) throws -> IssuedCertificate {
            let kit = folder.kit(name)
            try write(identity.certificatePEM, to: kit + "/cert.pem")
            try write(identity.privateKeyPEM, to: kit + "/key.pem", secret: true)
            try write(identity.caCertificatePEM, to: kit + "/ca.pem")
            let join = """
                #!/bin/sh
                # Run in silo '\(name)' with its own click log (a path from where you run it); more flags follow it.
                data="${1:?usage: join.sh CLICK_LOG [fedattn-client join flags]}"
                shift
                case "$data" in /*) ;; *) data="$(pwd)/$data" ;; esac
                cd "$(dirname "$0")"
                exec fedattn-client join --coordinator \(address) --cert cert.pem --key key.pem --ca ca.pem --data "$data" "$@"

                """
            try write(join, to: kit + "/join.sh")
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: kit + "/join.sh")
            return try IssuedCertificate(pem: identity.certificatePEM, file: kit + "/cert.pem")
        }

        /// Writes `text` to `path` (making its folder), readable by its owner only if `secret`.
        static func write(_ text: String, to path: String, secret: Bool = false) throws {
            let files = FileManager.default
            try files.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard files.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: secret ? 0o600 : 0o644]) else {
                throw ValidationError("\(path): cannot write")
            }
        }

        /// Refuses a silo whose kit would not be a new folder of its own directly inside
        /// `silos`: a name that is not one path step ('.', '..', or holding a '/'; `SiloName`
        /// refuses these first), a kit folder that exists already (a link to elsewhere, say),
        /// or a `silos` that is a link. So provision writes nothing outside DIR/silos/.
        static func checkKitFolder(for name: String, in silos: String) throws {
            guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\0") else {
                throw ValidationError("--silo \(SiloName.quoted(name)): not the name of a folder inside \(silos)/")
            }
            let files = FileManager.default
            if let target = try? files.destinationOfSymbolicLink(atPath: silos) {
                throw ValidationError("\(silos) is a link to \(target): provision writes the silos' kits only into a folder of its own")
            }
            let kit = (silos as NSString).appendingPathComponent(name)
            if files.fileExists(atPath: kit) || (try? files.destinationOfSymbolicLink(atPath: kit)) != nil {
                throw ValidationError(
                    "--silo \(SiloName.quoted(name)): \(kit) already exists; provision writes each kit into a new folder of its own")
            }
        }
    }
}
