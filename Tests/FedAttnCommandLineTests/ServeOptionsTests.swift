import ArgumentParser
import FedAttnCommandLine
import Foundation
import Testing
import _FedAttnTestSupport

/// `serve`'s options from flags and from a --config file: a file holding every option
/// resolves to what the same flags do (its paths taken from the file's folder), a flag wins
/// over the file and the file over the default, and a wrong value from the file is refused
/// with the flag's own message, naming the file and the key.
struct ServeOptionsTests {
    /// The federation's keys a serve config may hold beside serve's own (a sample: the
    /// coordinator passes all of them).
    static let federationKeys: Set<String> = ["rounds", "min_clients"]

    /// Serve's options from `flags`, over the config file `file` (nil: none).
    static func resolve(_ flags: [String], file: String? = nil) throws -> ServeSettings {
        try ServeOptions.parse(flags).resolve(configFile: file, otherKeys: federationKeys)
    }

    /// The message of what `resolve` throws for `flags` and `file`.
    static func refusal(_ flags: [String], file: String? = nil) -> String {
        do {
            let settings = try resolve(flags, file: file)
            return "resolved: \(settings)"
        } catch {
            return "\(error)"
        }
    }

    /// Writes `object` as a config file in `folder`; returns its path.
    static func config(_ object: [String: Any], in folder: String, name: String = "serve.json") throws -> String {
        let path = (folder as NSString).appendingPathComponent(name)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aConfigFileWithEveryKeyServesAsTheFlagsDo() throws {
        let folder = try Fixtures.temporaryFolder()
        try FileManager.default.createDirectory(atPath: folder + "/run", withIntermediateDirectories: true)
        let flags = try Self.resolve([
            "--host", "127.0.0.1", "--port", "7444", "--state", folder + "/state", "--cert", folder + "/tls/cert.pem", "--key",
            folder + "/tls/key.pem", "--ca", folder + "/tls/ca.pem", "--log-level", "debug", "--metrics-port", "9100", "--metrics-host",
            "0.0.0.0", "--port-file", folder + "/run/port", "--exit-when-done", "--members", folder + "/fed/members.txt", "--revoked",
            folder + "/fed/revoked.txt",
        ])
        // Relative paths, taken from the file's folder; an absolute one as it is.
        let every: [String: Any] = [
            "host": "127.0.0.1", "port": 7444, "state": "state", "cert": "tls/cert.pem", "key": "tls/key.pem", "ca": folder + "/tls/ca.pem",
            "log_level": "debug", "metrics_port": 9100, "metrics_host": "0.0.0.0", "port_file": "run/port", "exit_when_done": true,
            "members": "fed/members.txt", "revoked": "fed/revoked.txt", "rounds": 3,
        ]
        #expect(Set(every.keys).subtracting(Self.federationKeys) == ServeOptions.fileKeys, "every option of serve but --insecure")
        let fromFile = try Self.resolve([], file: try Self.config(every, in: folder))
        #expect(fromFile == flags)
        #expect(fromFile.state == folder + "/state" && fromFile.portFile == folder + "/run/port" && fromFile.exitWhenDone)
        #expect(fromFile.revokedFile == folder + "/fed/revoked.txt")
    }

    @Test func aFlagWinsOverTheFileAndTheFileOverTheDefault() throws {
        let folder = try Fixtures.temporaryFolder()
        let file = try Self.config(["port": 7500, "exit_when_done": true], in: folder)
        let defaults = try Self.resolve(["--insecure", "--state", folder])
        #expect(defaults.host == "0.0.0.0" && defaults.port == 7443 && defaults.metricsHost == "127.0.0.1" && !defaults.exitWhenDone)
        #expect(defaults.metricsPort == nil && defaults.revokedFile == nil)
        let fromFile = try Self.resolve(["--insecure", "--state", folder], file: file)
        #expect(fromFile.port == 7500 && fromFile.exitWhenDone)
        let flagged = try Self.resolve(["--insecure", "--state", folder, "--port", "7600", "--no-exit-when-done"], file: file)
        #expect(flagged.port == 7600 && !flagged.exitWhenDone)
        // The revocation list beside the allow-list, unless given.
        let listed = try Self.resolve(["--insecure", "--state", folder, "--members", folder + "/fed/members.txt"])
        #expect(listed.revokedFile == folder + "/fed/revoked.txt")
    }

    @Test func aWrongValueInTheFileIsNamedWithItsKeyAndTheFile() throws {
        let folder = try Fixtures.temporaryFolder()
        let state = ["--insecure", "--state", folder]
        func refusal(_ object: [String: Any]) throws -> (file: String, message: String) {
            let file = try Self.config(object, in: folder, name: "\(UUID().uuidString).json")
            return (file, Self.refusal(state, file: file))
        }
        // The flag's own message, for the flag and for the file's key.
        #expect(Self.refusal(state + ["--port", "70000"]) == "--port 70000 is not a port: give 0...65535 (0 picks a free one)")
        let port = try refusal(["port": 70_000])
        #expect(port.message == "\(port.file): port 70000 is not a port: give 0...65535 (0 picks a free one)")
        let metrics = try refusal(["metrics_port": -1])
        #expect(metrics.message == "\(metrics.file): metrics_port -1 is not a port: give 0...65535 (0 picks a free one)")
        let level = try refusal(["log_level": "loud"])
        #expect(level.message.hasPrefix("\(level.file): log_level loud is not a level: give trace, debug"), "\(level.message)")
        let host = try refusal(["host": "10.0.0.300"])
        #expect(host.message == "\(host.file): host '10.0.0.300' is not an IPv4 or IPv6 address (or localhost)")
        let portFile = try refusal(["port_file": "nowhere/port"])
        #expect(portFile.message == "\(portFile.file): port_file \(folder)/nowhere/port: the folder \(folder)/nowhere does not exist")
        // A value of the wrong kind, a misspelt key, and plaintext asked for in the file.
        let kind = try refusal(["port": "7443"])
        #expect(kind.message == "\(kind.file): port must be a whole number", "\(kind.message)")
        let misspelt = try refusal(["metric_port": 9100])
        #expect(misspelt.message.hasPrefix("\(misspelt.file): unknown setting 'metric_port'; the settings are "), "\(misspelt.message)")
        #expect(misspelt.message.contains("metrics_port") && misspelt.message.contains("min_clients"), "\(misspelt.message)")
        let insecure = try refusal(["insecure": true])
        #expect(insecure.message.hasPrefix("\(insecure.file): 'insecure' is not read from a config file"), "\(insecure.message)")
        // Certificates from the file beside --insecure, and none at all without it.
        let both = try refusal(["cert": "cert.pem"])
        #expect(both.message == "--insecure takes no --cert, --key or --ca (flags or \(both.file))")
        let none = Self.refusal(["--state", folder])
        #expect(none == "mutual TLS needs --cert, --key and --ca (or --insecure, on loopback only)")
        let noState = Self.refusal(["--insecure"])
        #expect(noState.hasPrefix("give the state folder: --state DIR"), "\(noState)")
    }
}
