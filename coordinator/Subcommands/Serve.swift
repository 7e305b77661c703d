import ArgumentParser
import FedAttnCommandLine
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import FedAttnTransport
import Foundation
import Logging
import Metrics
import Prometheus

extension CoordinatorCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a federation: wait for clients, run the rounds, publish each model to the state folder.")

        @Option(name: .long, help: "Address to listen on.") var host = "0.0.0.0"
        @Option(name: .long, help: "Port to listen on (0 picks a free one and prints it).") var port = 7443
        @OptionGroup var security: SecurityOptions
        @Option(
            name: .long,
            help:
                "State folder: published models (round-NNN.safetensors) and history.sqlite. Started again on the same folder, the coordinator resumes."
        )
        var state: String
        @OptionGroup var settings: FederationSettings
        @Option(name: .long, help: "Least level logged: trace, debug, info, notice, warning, error or critical.") var logLevel = "info"
        @Option(name: .long, help: "Serve Prometheus metrics at http://METRICS-HOST:PORT/metrics (off when not given; 0 picks a port).")
        var metricsPort: Int?
        @Option(name: .long, help: "Address the metrics endpoint listens on.") var metricsHost = "127.0.0.1"
        @Option(
            name: .long,
            help: "Once listening, write the bound port to this file (for scripts and supervisors that start serve with --port 0).")
        var portFile: String?
        @Option(
            name: .long,
            help:
                "The allow-list (provision writes DIR/members.txt): only the silos it names are admitted; re-read when it changes, no restart. Without it, every silo whose certificate the federation CA signed is."
        )
        var members: String?
        @Option(
            name: .long,
            help:
                "Revoked certificates by serial (remove writes DIR/revoked.txt), refused at the TLS handshake and on open connections; re-read when it changes. Default: revoked.txt beside --members."
        )
        var revoked: String?

        func validate() throws {
            guard (0...65_535).contains(port) else { throw ValidationError("--port \(port) is not a port: give 0...65535 (0 picks a free one)") }
            if let metricsPort, !(0...65_535).contains(metricsPort) {
                throw ValidationError("--metrics-port \(metricsPort) is not a port: give 0...65535 (0 picks a free one)")
            }
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ValidationError("--log-level \(logLevel) is not a level: give trace, debug, info, notice, warning, error or critical")
            }
            if let portFile {
                let folder = URL(fileURLWithPath: portFile).deletingLastPathComponent().path
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                    throw ValidationError("--port-file \(portFile): the folder \(folder) does not exist")
                }
            }
            _ = try settings.resolve()
        }

        func run() async throws {
            MallocTuning.returnLargeBlocksToTheSystem()
            let level = Logger.Level(rawValue: logLevel)!
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let registry = PrometheusCollectorRegistry()
            if metricsPort != nil { MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry)) }
            let logger = Logger(label: "fedattn.coordinator")
            let revokedFile =
                revoked ?? members.map { (($0 as NSString).deletingLastPathComponent as NSString).appendingPathComponent("revoked.txt") }
            let membership: Membership? =
                if members == nil && revokedFile == nil {
                    nil
                } else {
                    try Membership(membersFile: members, revokedFile: revokedFile, logger: Logger(label: "fedattn.membership"))
                }
            logger.notice(
                "\(membership?.summary ?? "membership: no allow-list (--members): every silo whose certificate the federation CA signed is admitted")"
            )
            let (modelConfig, config) = try settings.resolve()
            let store = try StateStore(folder: state)
            let resumed = try store.rounds().last
            let coordinator = try Coordinator(
                modelConfig: modelConfig, config: config, initialModel: try AttentionModel(config: modelConfig, seed: config.plan.seed),
                store: store, logger: logger)
            logger.notice("server optimiser: \(coordinator.strategyName)")
            // What `report` shows as the settings (not read back: the flags and --config are the source).
            let settingsTable = config.settingsTable(model: modelConfig, strategyName: coordinator.strategyName)
            let settingsObject = Dictionary(
                uniqueKeysWithValues: settingsTable.enumerated().map { ("\(100 + $0.offset) \($0.element.name)", $0.element.value) })
            let settingsFile = (state as NSString).appendingPathComponent("settings.json")
            if let resumed { warnOfChangedSettings(settingsFile, settingsObject, resumedAt: resumed.round, logger: logger) }
            try JSONSerialization.data(withJSONObject: settingsObject, options: [.sortedKeys])
                .write(to: URL(fileURLWithPath: settingsFile), options: .atomic)
            if let resumed {
                logger.notice(
                    "resuming from \(state): round \(resumed.round) is the last published (\(resumed.evaluation == nil ? "not yet evaluated" : "evaluated"))"
                )
            }
            let serve = { @Sendable () async throws in
                try await withCoordinatorServer(
                    coordinator, host: host, port: port, security: try security.security(), logger: Logger(label: "fedattn.transport"),
                    membership: membership
                ) { port in
                    if let portFile {
                        // Written whole or not at all: a reader never sees half a number. Before
                        // the log line, so that a script that saw the line finds the file.
                        do {
                            try Data("\(port)\n".utf8).write(to: URL(fileURLWithPath: portFile), options: .atomic)
                        } catch {
                            throw ValidationError("--port-file \(portFile): cannot write the port there: \(error.localizedDescription)")
                        }
                    }
                    logger.notice(
                        "listening on \(host.contains(":") ? "[\(host)]" : host):\(port); waiting for \(config.minClients) client(s) to join")
                    // glibc keeps freed buffers of finished calls in its arenas; given back five
                    // times a second, they no longer add to the next peak (10 MB at 200 clients,
                    // at no measurable cost).
                    let trimming = Task {
                        while !Task.isCancelled {
                            MallocTuning.giveBackFreePages()
                            try? await Task.sleep(for: .milliseconds(200))
                        }
                    }
                    defer { trimming.cancel() }
                    _ = await coordinator.waitUntilDone()
                    // Keep answering for a moment so that every client's next poll hears DONE, and
                    // while clients are still connected (downloading the kept model), up to 30 s.
                    try await Task.sleep(for: .seconds(3))
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { await coordinator.waitUntil { $0.connectedClients.isEmpty } }
                        group.addTask { try? await Task.sleep(for: .seconds(30)) }
                        await group.next()
                        group.cancelAll()
                    }
                    logger.notice("stopped; peak memory \(ResourceUsage.peakResidentBytes() ?? 0) bytes")
                }
            }
            // SIGTERM or Ctrl-C: the server closes (every call ends, so its clients see it
            // gone) and the process ends with status 0, having said what the folder keeps.
            let outcome = try await runUntilStopped(
                grace: Self.stopGrace,
                onStop: { request in
                    logger.notice("asked to stop (\(request)): closing the server and its connections; nothing stored in \(state) is removed")
                }
            ) { @Sendable () async throws -> Void in
                guard let metricsPort else { return try await serve() }
                try await withMetricsServer(host: metricsHost, port: metricsPort, render: { registry.emitToBuffer() }) { bound in
                    logger.notice("metrics at http://\(metricsHost.contains(":") ? "[\(metricsHost)]" : metricsHost):\(bound)/metrics")
                    try await serve()
                }
            }
            guard case .stopped(_, let settled) = outcome else { return }
            // A round its silos trained, closed but not yet stored, is stored before the
            // process ends (up to the grace period), rather than trained again.
            let published = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    await coordinator.waitUntil { !$0.isPublishing }
                    return true
                }
                group.addTask {
                    try? await Task.sleep(for: Self.stopGrace)
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            logger.notice("\(Self.stoppedLine(store, state: state, settled: settled && published))")
        }

        /// How long a coordinator asked to stop waits for its server to close.
        static let stopGrace: Duration = .seconds(30)

        /// What a coordinator that was asked to stop says last: the last round its state folder
        /// keeps (the rounds before it are kept too), and where serving it again starts.
        static func stoppedLine(_ store: StateStore, state: String, settled: Bool) -> String {
            let kept: String
            do {
                if let last = try store.rounds().last {
                    let evaluated = last.evaluation == nil ? "not yet evaluated: it is evaluated first when resumed" : "evaluated"
                    kept =
                        "\(state) keeps round \(last.round), the last published (\(evaluated)), and every round before it; "
                        + "serve on it again resumes there (a round under way is trained again)"
                } else {
                    kept = "no round was published yet; serve on \(state) again starts from round 1"
                }
            } catch {
                kept = "the rounds in \(state) could not be read back (\(error)); nothing stored there was removed"
            }
            let unfinished = settled ? "" : "; the work under way had not ended \(stopGrace.components.seconds) s after the request and was left"
            return "stopped: \(kept)\(unfinished)"
        }
    }
}

func log(_ line: String) {
    FileHandle.standardError.write(Data("\(line)\n".utf8))
}

/// Settings are not read back from the state folder (the flags and --config are the
/// source), so a restart with other flags, or after a default changed (FedNova replaced
/// FedProx as the default rule on 2026-11-30), changes a running federation: say so.
private func warnOfChangedSettings(_ settingsFile: String, _ now: [String: String], resumedAt round: Int, logger: Logger) {
    guard let data = FileManager.default.contents(atPath: settingsFile),
        let before = try? JSONSerialization.jsonObject(with: data) as? [String: String]
    else { return }
    for key in now.keys.sorted() where before[key] != nil && before[key] != now[key] {
        let name = key.drop { $0 != " " }.dropFirst()
        logger.warning(
            "\(name) was '\(before[key]!)' in the run that published round \(round) and is '\(now[key]!)' now: give the flag (or --config) to keep it"
        )
    }
}
