import ArgumentParser
public import FedAttnTransport
import Foundation
public import Logging

/// `serve`'s own settings, resolved: each from its flag, else from the --config file, else
/// its default; a path from the file is taken relative to the file's folder.
public struct ServeSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var state: String
    public var cert: String?
    public var key: String?
    public var ca: String?
    /// Plaintext on loopback: from the flag only.
    public var insecure: Bool
    public var logLevel: Logger.Level
    public var metricsPort: Int?
    public var metricsHost: String
    public var portFile: String?
    public var exitWhenDone: Bool
    public var members: String?
    /// The revocation list as given; `revokedFile` is the one in force.
    public var revoked: String?

    /// The revocation list in force: `revoked`, else revoked.txt beside the allow-list; nil
    /// without either.
    public var revokedFile: String? {
        revoked ?? members.map { (($0 as NSString).deletingLastPathComponent as NSString).appendingPathComponent("revoked.txt") }
    }

    /// The certificate files, checked for serving `host` and followed as they are renewed
    /// (`IdentityFiles`); nil with --insecure. `report` hears each renewal taken or refused.
    /// - Throws: `TransportError` naming the file that cannot be read or does not check.
    public func identityFiles(report: @escaping @Sendable (IdentityFiles.Change) -> Void) throws -> IdentityFiles? {
        guard !insecure, let cert, let key, let ca else { return nil }
        return try IdentityFiles(certificateFile: cert, keyFile: key, caFile: ca, servedHost: host, report: report)
    }
}

extension ServeOptions {
    /// Serve's settings as a --config file holds them, each under its flag's name in snake case.
    struct File: Decodable {
        var host: String?, port: Int?, state: String?, cert: String?, key: String?, ca: String?
        var logLevel: String?, metricsPort: Int?, metricsHost: String?, portFile: String?, exitWhenDone: Bool?
        var members: String?, revoked: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case host, port, state, cert, key, ca
            case logLevel = "log_level", metricsPort = "metrics_port", metricsHost = "metrics_host", portFile = "port_file"
            case exitWhenDone = "exit_when_done", members, revoked
        }
    }

    /// The keys of serve's own settings in a --config file.
    public static var fileKeys: Set<String> { Set(File.CodingKeys.allCases.map(\.rawValue)) }

    /// The levels --log-level takes, as its message lists them.
    private static let levels = "trace, debug, info, notice, warning, error or critical"

    /// These flags over the --config file `configFile` (nil: none) over the defaults, each value
    /// checked as its flag is (a port 70000 from the file is refused as from the flag, naming
    /// the file and the key); a relative path in the file is taken from the file's folder.
    /// `otherKeys` are the other settings the file may hold (the federation's): any other key is
    /// refused, and so is `insecure` (plaintext is asked for on the command line only).
    /// - Throws: `ValidationError` naming the flag, or the file and the key.
    public func resolve(configFile: String?, otherKeys: Set<String>) throws -> ServeSettings {
        var file = File()
        var folder = ""
        if let configFile {
            let data = try ConfigFile.read(configFile)
            if try ConfigFile.keys(data, of: configFile).contains("insecure") {
                throw ValidationError(
                    "\(configFile): 'insecure' is not read from a config file: plaintext turns the certificates off, so it is asked for "
                        + "on the command line only (--insecure, on a loopback address)")
            }
            try ConfigFile.refuseUnknownKeys(data, of: configFile, known: Self.fileKeys.union(otherKeys))
            file = try ConfigFile.decode(File.self, from: data, of: configFile)
            folder = (configFile as NSString).deletingLastPathComponent
        }
        // A path from the file, taken from the file's folder unless it is absolute.
        func fromFile(_ path: String?) -> String? {
            guard let path, !path.hasPrefix("/"), !folder.isEmpty else { return path }
            return (folder as NSString).appendingPathComponent(path)
        }
        // What a message calls a setting: its flag, or the file and its key.
        func named(_ flag: String, _ key: String, byFlag: Bool) -> String {
            byFlag ? flag : "\(configFile ?? "--config"): \(key)"
        }

        let host = self.host ?? file.host ?? "0.0.0.0"
        guard isListeningAddress(host) else {
            throw ValidationError("\(named("--host", "host", byFlag: self.host != nil)) '\(host)' is not an IPv4 or IPv6 address (or localhost)")
        }
        let port = self.port ?? file.port ?? 7443
        guard (0...65_535).contains(port) else {
            throw ValidationError("\(named("--port", "port", byFlag: self.port != nil)) \(port) is not a port: give 0...65535 (0 picks a free one)")
        }
        let metricsPort = self.metricsPort ?? file.metricsPort
        if let metricsPort, !(0...65_535).contains(metricsPort) {
            throw ValidationError(
                "\(named("--metrics-port", "metrics_port", byFlag: self.metricsPort != nil)) \(metricsPort) is not a port: give 0...65535 (0 picks a free one)"
            )
        }
        let levelName = logLevel ?? file.logLevel ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            throw ValidationError("\(named("--log-level", "log_level", byFlag: logLevel != nil)) \(levelName) is not a level: give \(Self.levels)")
        }
        let portFile = self.portFile ?? fromFile(file.portFile)
        if let portFile {
            let portFolder = URL(fileURLWithPath: portFile).deletingLastPathComponent().path
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: portFolder, isDirectory: &isFolder), isFolder.boolValue else {
                throw ValidationError(
                    "\(named("--port-file", "port_file", byFlag: self.portFile != nil)) \(portFile): the folder \(portFolder) does not exist")
            }
        }
        let (cert, key, ca) = (security.cert ?? fromFile(file.cert), security.key ?? fromFile(file.key), security.ca ?? fromFile(file.ca))
        let source = configFile.map { " (flags or \($0))" } ?? ""
        if security.insecure {
            guard cert == nil, key == nil, ca == nil else { throw ValidationError(SecurityOptions.insecureTakesNoFiles + source) }
        } else if cert == nil || key == nil || ca == nil {
            throw ValidationError(SecurityOptions.needsAllThree + source)
        }
        guard let state = self.state ?? fromFile(file.state) else {
            throw ValidationError(
                "give the state folder: --state DIR" + (configFile.map { ", or \"state\" in \($0)" } ?? "")
                    + " (published models and history.sqlite; started again on the same folder, serve resumes)")
        }
        return ServeSettings(
            host: host, port: port, state: state, cert: cert, key: key, ca: ca, insecure: security.insecure, logLevel: level,
            metricsPort: metricsPort, metricsHost: metricsHost ?? file.metricsHost ?? "127.0.0.1", portFile: portFile,
            exitWhenDone: exitWhenDone ?? file.exitWhenDone ?? false, members: members ?? fromFile(file.members),
            revoked: revoked ?? fromFile(file.revoked))
    }
}
