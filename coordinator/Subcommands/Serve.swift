import ArgumentParser
import FedAttnCommandLine
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import FedAttnSimulation
import FedAttnTransport
import Foundation
import Logging
import Metrics
import Prometheus

extension CoordinatorCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a federation: wait for clients, run the rounds, publish each model to the state folder.",
            discussion: """
                Every option may also come from the --config file (JSON) under its name in snake case ("port", "state", \
                "cert", "metrics_port", "exit_when_done"), but --insecure, which only a flag asks for: a flag wins over the \
                file, the file over the default, and a relative path in the file is taken from the file's folder. The \
                certificate and key files may be renewed in place while serve runs (fedattn-coordinator renew --server): \
                each new connection is then presented the new certificate, without a restart. The gRPC port also \
                answers the standard gRPC health service (grpc.health.v1): SERVING from listening until asked to stop, \
                to any client certificate of the federation's CA; /healthz and /readyz are on the --metrics-port.
                """)

        @OptionGroup var options: ServeOptions
        @OptionGroup var settings: FederationSettings

        func validate() throws {
            _ = try options.resolve(configFile: settings.config, otherKeys: FederationSettings.fileKeys)
            _ = try settings.resolve(otherKeys: ServeOptions.fileKeys)
        }

        func run() async throws {
            let serving = try options.resolve(configFile: settings.config, otherKeys: FederationSettings.fileKeys)
            let (host, port, state, portFile, exitWhenDone) = (serving.host, serving.port, serving.state, serving.portFile, serving.exitWhenDone)
            MallocTuning.returnLargeBlocksToTheSystem()
            let level = serving.logLevel
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let registry = PrometheusCollectorRegistry()
            if serving.metricsPort != nil {
                // Every metric with its # HELP line; this build as a series of its own (1, its
                // release and wire protocol in the labels), so a dashboard tells what each runs.
                MetricsSystem.bootstrap(HelpingMetricsFactory(registry: registry))
                let protocols = BuildVersion.protocols.map { "\($0)" }.joined(separator: ",")
                registry.makeGauge(
                    descriptor: MetricsHelp.descriptor("fedattn_build_info"), labels: [("version", BuildVersion.release), ("protocol", protocols)]
                ).set(to: 1)
            }
            let logger = Logger(label: "fedattn.coordinator")
            let membership: Membership? =
                if serving.members == nil && serving.revokedFile == nil {
                    nil
                } else {
                    try Membership(membersFile: serving.members, revokedFile: serving.revokedFile, logger: Logger(label: "fedattn.membership"))
                }
            logger.notice(
                "\(membership?.summary ?? "membership: no allow-list (--members): every silo whose certificate the federation CA signed is admitted")"
            )
            let (modelConfig, config) = try settings.resolve(otherKeys: ServeOptions.fileKeys)
            // The certificate and key are followed as they are renewed: each new connection is
            // presented what the files hold then, once it checks as it did at start.
            let identityFiles = try serving.identityFiles { change in
                if case .refused = change { logger.error("\(change)") } else { logger.notice("\(change)") }
            }
            let transportSecurity = identityFiles?.security ?? .insecureLoopback
            if let identityFiles { logger.notice("\(identityFiles.summary)") }
            // From 30 days before the certificate expires: a warning at start, then daily, and at
            // once for a renewed certificate that is near its end too. The files are looked at each
            // minute, so that a renewal is taken (and logged) while no client connects.
            if let identityFiles, let warning = CertificateExpiry.warning(file: identityFiles.certificateFile, notAfter: identityFiles.notValidAfter)
            {
                logger.warning("\(warning)")
            }
            let certificateWatch = Task {
                guard let identityFiles else { return }
                var notAfter = identityFiles.notValidAfter
                var warned = ContinuousClock.now
                while !Task.isCancelled {
                    try? await Task.sleep(for: CertificateExpiry.lookEvery)
                    guard !Task.isCancelled else { return }
                    let now = identityFiles.notValidAfter
                    guard now != notAfter || ContinuousClock.now - warned >= CertificateExpiry.repeatEvery else { continue }
                    if let warning = CertificateExpiry.warning(file: identityFiles.certificateFile, notAfter: now) { logger.warning("\(warning)") }
                    (notAfter, warned) = (now, ContinuousClock.now)
                }
            }
            defer { certificateWatch.cancel() }
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
            // What /readyz answers: ready once the server listens, until asked to stop; and the
            // gRPC health service on the server's own port (SERVING then).
            let readiness = ServingReadiness(stateFolder: state)
            // A folder whose federation is complete is said so at start, then served as it is
            // (clients that join are told it is done, and fetch the kept model), or left at once.
            let completeAtStart = await Self.completion(of: coordinator)
            if let completeAtStart {
                readiness.complete(completeAtStart)
                guard !exitWhenDone else {
                    logger.notice("\(state) holds a complete federation (\(completeAtStart)); --exit-when-done: exiting without serving it")
                    return
                }
                logger.notice(
                    "\(state) holds a complete federation (\(completeAtStart)): serving its kept model, its status and metrics until stopped (SIGTERM or Ctrl-C); clients that join are told it is done"
                )
            }
            let serve = { @Sendable () async throws in
                try await withCoordinatorServer(
                    coordinator, host: host, port: port, security: transportSecurity, identityFiles: identityFiles,
                    logger: Logger(label: "fedattn.transport"), membership: membership, health: readiness.health
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
                    let waiting =
                        completeAtStart == nil
                        ? "waiting for \(config.minClients) client(s) to join" : "the federation is complete: clients that join are told so"
                    let address = "\(host.contains(":") ? "[\(host)]" : host):\(port)"
                    readiness.listening(at: address)
                    logger.notice("listening on \(address); \(waiting)")
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
                    // Asked to stop first: thrown, so that the server closes every call at once.
                    try Task.checkCancellation()
                    let complete = await Self.completion(of: coordinator)
                    if let complete { readiness.complete(complete) }
                    guard exitWhenDone else {
                        if completeAtStart == nil, let complete {
                            logger.notice(
                                "federation complete (\(complete)): serving the kept model, its status and metrics until stopped (SIGTERM or Ctrl-C)"
                            )
                        }
                        // Clients asking for a task hear DONE with the kept version and may fetch
                        // it, /metrics stays up, until runUntilStopped cancels this wait (only
                        // that ends it); thrown, so that the server closes every call at once.
                        await coordinator.waitUntil { _ in false }
                        throw CancellationError()
                    }
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
                    readiness.stopping("asked to stop (\(request))")
                    // Its connections close next: their silos are not leaving the round.
                    await coordinator.stopping()
                    logger.notice("asked to stop (\(request)): closing the server and its connections; nothing stored in \(state) is removed")
                }
            ) { @Sendable () async throws -> Void in
                guard let metricsPort = serving.metricsPort else { return try await serve() }
                let metricsHost = serving.metricsHost
                // Seconds left on the certificate in use (a renewed one once taken), as of each scrape.
                let expiry = identityFiles.map { files in
                    (gauge: registry.makeGauge(descriptor: MetricsHelp.descriptor("fedattn_certificate_expiry_seconds"), labels: []), files: files)
                }
                let render = { @Sendable () -> [UInt8] in
                    if let expiry { expiry.gauge.set(to: expiry.files.notValidAfter.timeIntervalSinceNow) }
                    return registry.emitToBuffer()
                }
                // The status page, built when asked for (CoordinatorStatusSource says what it costs the coordinator).
                let status = StatusPage.serving(
                    CoordinatorStatusSource(
                        coordinator: coordinator, store: store, membership: membership,
                        certificate: { identityFiles.map { ($0.certificateFile, $0.notValidAfter) } },
                        stopping: { readiness.stoppingReason }))
                try await withMetricsServer(
                    host: metricsHost, port: metricsPort, render: render, readiness: { readiness.readiness }, status: status
                ) { bound in
                    let base = "http://\(metricsHost.contains(":") ? "[\(metricsHost)]" : metricsHost):\(bound)"
                    logger.notice(
                        "metrics at \(base)/metrics; liveness at /healthz, readiness at /readyz; status page at \(base)/status (JSON: /status.json)")
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
            let complete = await Self.completion(of: coordinator)
            logger.notice("\(Self.stoppedLine(store, state: state, settled: settled && published, complete: complete))")
        }

        /// What a finished federation is, for the log lines that say so: "20 rounds, round 14
        /// kept (best.safetensors)", or "12 of the 20 rounds planned (it stopped early), …";
        /// nil while it is not done.
        static func completion(of coordinator: Coordinator) async -> String? {
            guard await coordinator.isDone else { return nil }
            let (rounds, kept, planned) = (await coordinator.completedRounds, await coordinator.keptRound, coordinator.config.rounds)
            let count =
                rounds < planned ? "\(rounds) of the \(planned) rounds planned (it stopped early)" : "\(rounds) round\(rounds == 1 ? "" : "s")"
            return "\(count), " + (kept.map { "round \($0) kept (best.safetensors)" } ?? "no round kept (no silo held a validation split)")
        }

        /// How long a coordinator asked to stop waits for its server to close.
        static let stopGrace: Duration = .seconds(30)

        /// What a coordinator that was asked to stop says last: the last round its state folder
        /// keeps (the rounds before it are kept too), and where serving it again starts; or,
        /// the federation being `complete` (`completion(of:)`), that the folder holds it whole.
        static func stoppedLine(_ store: StateStore, state: String, settled: Bool, complete: String? = nil) -> String {
            let kept: String
            do {
                if let complete {
                    kept = "\(state) holds the complete federation (\(complete)); serve on it again serves it as it is"
                } else if let last = try store.rounds().last {
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
