import ArgumentParser
import FedAttnFederation
import FedAttnTransport
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension CoordinatorCommand {
    struct Renew: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Renew a certificate from the federation's CA: a silo's kit, or the coordinator's own.",
            discussion: """
                --silo NAME: a silo whose kit provision made (DIR/silos/NAME/, its key made here) gets a new \
                certificate in place of its cert.pem. --server: the coordinator's certificate \
                (DIR/coordinator/cert.pem) gets a new one for the same names and addresses (--coordinator-host \
                replaces them). The new certificate has a new serial, the same subject and use, and is for the same \
                key unless --new-key (the new key is written first, then the certificate, each as a new file \
                renamed over the old). The old certificate is not revoked: both are valid until the old one \
                expires (remove revokes every certificate of a silo). A coordinator serving these files, and a join \
                using them, present the new certificate from their next connection, without a restart; copy the \
                files to where they run if they serve copies. A silo that made its own key renews with a new \
                request instead: fedattn-client request-certificate --renew there, sign --renew here.
                """)

        @Option(name: .long, help: "The federation's folder, as provision wrote it (its CA key, ca/ca.key, signs).") var federation: String
        @Option(name: .long, help: "The silo whose kit (DIR/silos/NAME/) gets a new certificate.") var silo: String?
        @Flag(name: .long, help: "Renew the coordinator's certificate (DIR/coordinator/cert.pem), for the names clients dial it by.")
        var server = false
        @Option(
            name: .long, parsing: .upToNextOption,
            help: "With --server: the names or IP addresses the new certificate is valid for, in place of those it had.")
        var coordinatorHost: [String] = []
        @Option(name: .long, help: "Days the new certificate is valid (default 365; never past the CA's end).") var days = 365
        @Flag(name: .long, help: "Make a new private key too, in place of key.pem; without it, the certificate is for the key it had.")
        var newKey = false

        func validate() throws {
            guard (silo != nil) != server else { throw ValidationError("give --silo NAME or --server: the certificate to renew") }
            if let silo, let problem = SiloName.problem(with: silo) { throw ValidationError("--silo \(SiloName.quoted(silo)): \(problem)") }
            guard coordinatorHost.isEmpty || server else { throw ValidationError("--coordinator-host goes with --server") }
            guard days >= 1 else { throw ValidationError("--days must be at least 1") }
        }

        func run() async throws {
            let folder = FederationFolder(federation)
            guard folder.holdsFederation else {
                throw ValidationError("--federation \(federation) holds no federation (no \(folder.caCertificateFile))")
            }
            let authority = try DevCertificateAuthority(certificateFile: folder.caCertificateFile, keyFile: folder.caKeyFile)
            if let silo {
                try renewSilo(silo, in: folder, with: authority)
            } else {
                try renewServer(in: folder, with: authority)
            }
        }

        /// A new certificate in silo `name`'s kit, recorded in issued.txt (so that `remove`
        /// revokes it with the others).
        private func renewSilo(_ name: String, in folder: FederationFolder, with authority: DevCertificateAuthority) throws {
            let kit = folder.kit(name)
            guard FileManager.default.fileExists(atPath: kit + "/key.pem") else {
                throw ValidationError(
                    "silo '\(name)' has no kit with its key in \(kit)/ (it made its own key, or its kit was deleted): it renews with a new "
                        + "request, fedattn-client request-certificate --renew in the silo, then fedattn-coordinator sign --renew here")
            }
            if let members = try folder.memberList(), !members.contains(name) {
                throw ValidationError(
                    "silo '\(name)' is not a member of \(federation) (\(folder.membersFile)); it was removed, and its certificates revoked: "
                        + "renewing would give it a valid certificate again (delete its kit and provision it again to re-admit it)")
            }
            let renewed = try renew(certificateFile: kit + "/cert.pem", keyFile: kit + "/key.pem", hosts: nil, authority: authority)
            try folder.prepareLists()
            try folder.admit(name, serial: renewed.certificate.serial, validUntil: renewed.certificate.notValidAfter, how: "renew")
            print(
                "renewed silo '\(name)': \(kit)/cert.pem is a new certificate (serial \(renewed.certificate.serial), valid until "
                    + "\(renewed.certificate.notValidAfter.formatted(.iso8601)))\(renewed.privateKeyPEM == nil ? "" : ", for a new key in \(kit)/key.pem")"
            )
            print(
                "the one it replaces (serial \(renewed.previous.serial), valid until \(renewed.previous.notValidAfter.formatted(.iso8601))) "
                    + "stays valid until then: renewing revokes nothing (remove revokes every certificate of a silo)")
            print(
                "send the silo \(kit)/cert.pem\(renewed.privateKeyPEM == nil ? "" : " and key.pem"): in place of its own, a running join "
                    + "presents it from its next connection, without a restart")
            noteTheCAsEnd(renewed, authority)
        }

        /// A new certificate for the coordinator, for the names it had (or --coordinator-host).
        private func renewServer(in folder: FederationFolder, with authority: DevCertificateAuthority) throws {
            let certificateFile = folder.coordinatorFolder + "/cert.pem"
            let renewed = try renew(
                certificateFile: certificateFile, keyFile: folder.coordinatorFolder + "/key.pem",
                hosts: coordinatorHost.isEmpty ? nil : coordinatorHost, authority: authority)
            let names = renewed.names.isEmpty ? "no host name" : renewed.names.joined(separator: ", ")
            print(
                "renewed the coordinator's certificate: \(certificateFile) is a new certificate (serial \(renewed.certificate.serial), "
                    + "valid until \(renewed.certificate.notValidAfter.formatted(.iso8601))) for \(names)"
                    + (renewed.privateKeyPEM == nil ? "" : ", with a new key in \(folder.coordinatorFolder)/key.pem"))
            print(
                "a coordinator serving these files presents it from its next connection (connections open keep the old one), without a "
                    + "restart, and logs 'certificate … reloaded'; the old one (serial \(renewed.previous.serial)) stays valid until "
                    + "\(renewed.previous.notValidAfter.formatted(.iso8601))")
            noteTheCAsEnd(renewed, authority)
        }

        /// Renews the certificate in `certificateFile` (for the key in `keyFile`, or a new one),
        /// and writes it (and the new key) in place, each whole: a new file renamed over the old.
        private func renew(certificateFile: String, keyFile: String, hosts: [String]?, authority: DevCertificateAuthority) throws
            -> RenewedCertificate
        {
            func read(_ path: String, _ what: String) throws -> String {
                guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                    throw ValidationError("\(path): cannot read the \(what)")
                }
                return text
            }
            let renewed = try authority.renew(
                certificatePEM: try read(certificateFile, "certificate to renew"), certificateFile: certificateFile,
                keyPEM: try read(keyFile, "certificate's key"), keyFile: keyFile, newKey: newKey, hosts: hosts,
                validity: TimeInterval(days) * 86_400)
            // The key first: a reader between the two finds the old certificate with the new
            // key, refuses the pair, and keeps what it had until the certificate follows.
            if let key = renewed.privateKeyPEM { try Self.replace(keyFile, with: key, secret: true) }
            try Self.replace(certificateFile, with: renewed.certificate.certificatePEM, secret: false)
            return renewed
        }

        /// Says so when the CA's end cut the certificate short.
        private func noteTheCAsEnd(_ renewed: RenewedCertificate, _ authority: DevCertificateAuthority) {
            guard renewed.endsWithTheCA else { return }
            print(
                "note: --days \(days) would outlive the federation's CA: the certificate ends with it, on "
                    + "\(authority.notValidAfter.formatted(.iso8601)); after that no certificate of this federation is valid: "
                    + "provision a new federation before then")
        }

        /// Writes `text` to `path` whole: a new file beside it (readable by its owner only if
        /// `secret`), renamed over it, so that a process reading `path` meanwhile finds the old
        /// file or the new one, never half of one.
        static func replace(_ path: String, with text: String, secret: Bool) throws {
            let fresh = path + ".renewing"
            try? FileManager.default.removeItem(atPath: fresh)
            // Made with its mode, never readable by others even for a moment (a file created
            // and then chmodded would be, under the usual umask).
            let descriptor = open(fresh, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, secret ? 0o600 : 0o644)
            guard descriptor >= 0 else { throw ValidationError("\(fresh): cannot write (\(String(cString: strerror(errno))))") }
            let bytes = Array(text.utf8)
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            let synced = fsync(descriptor) == 0
            close(descriptor)
            guard written == bytes.count, synced else {
                try? FileManager.default.removeItem(atPath: fresh)
                throw ValidationError("\(fresh): cannot write")
            }
            guard rename(fresh, path) == 0 else {
                let why = String(cString: strerror(errno))
                try? FileManager.default.removeItem(atPath: fresh)
                throw ValidationError("\(path): cannot replace it with \(fresh) (\(why))")
            }
        }
    }
}
