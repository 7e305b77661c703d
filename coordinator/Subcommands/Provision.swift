import ArgumentParser
import FedAttnFederation
import FedAttnTransport
import Foundation

extension CoordinatorCommand {
    struct Provision: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a federation's CA, the coordinator's certificate and one start-up kit per silo.",
            discussion: """
                Writes DIR/ca/ (the CA certificate and key: keep the key offline), DIR/coordinator/ \
                (cert.pem, key.pem, ca.pem) and DIR/silos/NAME/ (cert.pem, key.pem, ca.pem and join.sh, \
                the exact command to run in that silo). Keys are readable by their owner only.
                """)

        @Option(name: .long, help: "Folder to write into; must not hold a federation already.") var out: String
        @Option(name: .long, parsing: .upToNextOption, help: "Names or IP addresses clients dial the coordinator by.")
        var coordinatorHost: [String]
        @Option(name: .long, help: "The port clients dial.") var port = 7443
        @Option(name: .long, parsing: .upToNextOption, help: "Silo names; each becomes a certificate's common name.") var silo: [String]
        @Option(name: .long, help: "Days the certificates are valid.") var days = 365

        func validate() throws {
            guard !coordinatorHost.isEmpty else { throw ValidationError("name at least one --coordinator-host") }
            guard !silo.isEmpty else { throw ValidationError("name at least one --silo") }
            if let duplicate = Dictionary(grouping: silo, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
                throw ValidationError("silo '\(duplicate)' is named twice: each silo needs its own name")
            }
            for name in silo {
                if let problem = SiloName.problem(with: name) { throw ValidationError("--silo \(SiloName.quoted(name)): \(problem)") }
            }
            guard days >= 1 else { throw ValidationError("--days must be at least 1") }
        }

        func run() async throws {
            let files = FileManager.default
            guard !files.fileExists(atPath: (out as NSString).appendingPathComponent("ca")) else {
                throw ValidationError("\(out) already holds a federation CA; choose another folder")
            }
            // Every kit's folder checked before anything is written.
            let silos = (out as NSString).appendingPathComponent("silos")
            for name in silo { try Self.checkKitFolder(for: name, in: silos) }
            let validity = TimeInterval(days) * 86_400
            let authority = try DevCertificateAuthority(name: "FedAttention federation CA", validity: validity)
            func write(_ text: String, _ path: String, secret: Bool = false) throws {
                let full = (out as NSString).appendingPathComponent(path)
                try files.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                guard files.createFile(atPath: full, contents: Data(text.utf8), attributes: [.posixPermissions: secret ? 0o600 : 0o644]) else {
                    throw ValidationError("\(full): cannot write")
                }
            }
            try write(authority.certificatePEM, "ca/ca.pem")
            try write(authority.privateKeyPEM, "ca/ca.key", secret: true)
            let server = try authority.serverIdentity(hosts: coordinatorHost, validity: validity)
            try write(server.certificatePEM, "coordinator/cert.pem")
            try write(server.privateKeyPEM, "coordinator/key.pem", secret: true)
            try write(server.caCertificatePEM, "coordinator/ca.pem")
            for name in silo {
                let identity = try authority.clientIdentity(name: name, validity: validity)
                try write(identity.certificatePEM, "silos/\(name)/cert.pem")
                try write(identity.privateKeyPEM, "silos/\(name)/key.pem", secret: true)
                try write(identity.caCertificatePEM, "silos/\(name)/ca.pem")
                let join = """
                    #!/bin/sh
                    # Run in silo '\(name)' with its own click log (a path from where you run it); more flags follow it.
                    data="${1:?usage: join.sh CLICK_LOG [fedattn-client join flags]}"
                    shift
                    case "$data" in /*) ;; *) data="$(pwd)/$data" ;; esac
                    cd "$(dirname "$0")"
                    exec fedattn-client join --coordinator \(coordinatorHost[0]):\(port) --cert cert.pem --key key.pem --ca ca.pem --data "$data" "$@"

                    """
                try write(join, "silos/\(name)/join.sh")
                try files.setAttributes([.posixPermissions: 0o755], ofItemAtPath: (out as NSString).appendingPathComponent("silos/\(name)/join.sh"))
            }
            print("federation written to \(out): ca/, coordinator/, and \(silo.count) silo kit(s) in silos/")
            print(
                "start the coordinator with: fedattn-coordinator serve --port \(port) --cert \(out)/coordinator/cert.pem --key \(out)/coordinator/key.pem --ca \(out)/coordinator/ca.pem --state STATE_DIR"
            )
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
