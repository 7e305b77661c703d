import ArgumentParser
import FedAttnCommandLine
import FedAttnCore
import FedAttnData
import FedAttnFederation
import FedAttnModel
import FedAttnTransport
import Foundation

extension ClientCommand {
    struct Join: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join a federation: train on this silo's data when asked, send only deltas and aggregate metrics.")

        @Option(name: .long, help: "The coordinator, HOST:PORT (no scheme, no path: e.g. fed.example.org:7443).") var coordinator: String
        @OptionGroup var security: SecurityOptions
        @Option(name: .long, help: "With --insecure only: the name this client goes by (otherwise its certificate's).") var name: String?
        @Option(name: .long, help: "This silo's click log: a CSV file or a folder of them.") var data: String
        @Option(name: .long, help: "Item id mapping; must match the coordinator's.") var items = "catalogue:1682"
        @Option(name: .long) var strategies = 1
        @Flag(name: .long, help: "Skip malformed rows and report how many.") var skipMalformed = false
        @Option(name: .long, help: "Threads for local training.") var threads = 1
        @Option(
            name: .long,
            help:
                "Share of each user's train rows held out (at random) as the validation split the coordinator chooses the kept round by; 0 for none.")
        var validationFraction = 0.1
        @Flag(name: .long, help: "Skip the HR@10 / NDCG@10 ranking (it holds each user's interacted items in memory).") var noRanking = false
        @Option(
            name: .long, help: "Seconds to keep trying a coordinator that is down or restarting, or that still holds this silo's previous connection."
        )
        var retryFor = 600
        @Option(
            name: .long,
            help: "The most example-level epsilon this silo spends: a round that would take it further is refused and the client leaves.")
        var epsilonBudget: Double?
        @Flag(
            name: .long,
            help:
                "Refuse any round the coordinator asks to train without example-level DP-SGD (the client leaves, exit status 3, as for --epsilon-budget)."
        )
        var requireDp = false
        @Flag(
            name: .long,
            help:
                "Refuse any round the coordinator asks for without secure aggregation: the client leaves before training, having sent no update (exit status 3)."
        )
        var requireSecureAggregation = false
        @Option(name: .long, help: "delta of this silo's own accounting (default 1 / its training examples).") var dpDelta: Double?
        @Option(
            name: .long,
            help:
                "A file where this silo records the rounds it trained with DP-SGD, read back at start, so a restarted client still knows what it spent."
        )
        var privacyLedger: String?
        @Option(
            name: .long,
            help:
                "When the federation ends, write the model of the round it kept (best validation) here (.safetensors), for `recommend` and `evaluate`."
        )
        var modelOut: String?
        @Flag(
            name: .long,
            help:
                "Share none of this silo's item counts for the federation's most-popular baseline (they tell the coordinator how often each item appears in this silo's train rows); the silo then gets no baseline figures."
        )
        var noSharePopularity = false

        func validate() throws {
            try security.requireComplete()
            guard ItemMapping(items) != nil else { throw ValidationError("--items must be catalogue:N or hash:B") }
            _ = try Self.coordinatorAddress(coordinator)
            if security.insecure && name == nil { throw ValidationError("--insecure needs --name") }
            if let name, let problem = SiloName.problem(with: name) { throw ValidationError("--name \(SiloName.quoted(name)): \(problem)") }
            guard retryFor >= 0 else { throw ValidationError("--retry-for must be 0 or more seconds") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
            guard validationFraction >= 0, validationFraction < 1 else { throw ValidationError("--validation-fraction must lie in [0, 1)") }
            // Before joining: a ledger that cannot be written would stop the client after its first round.
            if let privacyLedger { try requireFolder(of: privacyLedger, flag: "--privacy-ledger") }
            if let modelOut { try requireFolder(of: modelOut, flag: "--model-out") }
            if let epsilonBudget {
                guard epsilonBudget > 0, epsilonBudget.isFinite else { throw ValidationError("--epsilon-budget must be positive") }
            }
            if let dpDelta { guard dpDelta > 0, dpDelta < 1 else { throw ValidationError("--dp-delta must lie in (0, 1)") } }
        }

        func run() async throws {
            let model = ModelConfig(items: ItemMapping(items)!, strategies: strategies)
            let log = try ClickLogReader(items: model.items, strategies: model.strategies, skipMalformed: skipMalformed).read(path: data)
            let builder = ExampleBuilder(historyLength: model.historyLength)
            let (train, validation, test, duplicates) = builder.buildWithValidation(log, fraction: validationFraction)
            guard !train.isEmpty else { throw DataError.noTrainingExamples(path: data, rows: log.count, users: log.userIDs.count) }
            let ranking = noRanking ? RankingSet() : builder.rankingSet(log)
            let validationRanking =
                noRanking || validationFraction == 0 ? RankingSet() : builder.validationRankingSet(log, fraction: validationFraction)
            // A log beside the coordinator's: every line with its time (UTC).
            let progress = Progress(enabled: true, timestamps: true)
            progress.line(
                "silo: \(train.count) train, \(validation.count) validation and \(test.count) test examples, \(ranking.count) users ranked"
                    + skippedNote(log.summary, duplicateRows: duplicates))
            let (host, port) = try Self.coordinatorAddress(coordinator)
            let ledger = try SiloPrivacyLedger(
                budget: epsilonBudget, requirePrivacy: requireDp, requireSecureAggregation: requireSecureAggregation, delta: dpDelta,
                file: privacyLedger)
            if epsilonBudget != nil && privacyLedger == nil {
                progress.line("note: without --privacy-ledger, the epsilon budget counts only the rounds trained since this client started")
            }
            if !ledger.rounds.isEmpty {
                progress.line(
                    String(
                        format: "privacy ledger: %d rounds trained with DP-SGD, epsilon %.3f spent", ledger.rounds.count,
                        ledger.epsilon(examples: train.count)))
            }
            let participant = Participant(
                work: SiloWork(
                    train: train, validation: validation, test: test, ranking: ranking, validationRanking: validationRanking, threads: threads,
                    privacy: ledger, modelOut: modelOut, sharesPopularity: !noSharePopularity, evaluatesLocalModel: true))
            // Its certificate and key are read again at each new connection: a renewed pair (once
            // it checks) is presented from the next one, without a restart.
            let identityFiles = try security.identityFiles { change in progress.line("\(change)") }
            let session = ClientSession(
                host: host, port: port, security: identityFiles?.security ?? .insecureLoopback, insecureName: name, retryFor: .seconds(retryFor),
                identityFiles: identityFiles)
            // SIGTERM or Ctrl-C: the session ends (its calls are cancelled, its connection
            // closes, so the coordinator sees the silo leave) and the process ends with status 0.
            let (ledgerFile, modelFile) = (privacyLedger, modelOut)
            let outcome: StopOutcome<Void>
            do {
                outcome = try await runUntilStopped(
                    grace: Self.stopGrace,
                    onStop: { request in progress.line(Self.stoppingLine(request, privacyLedger: ledgerFile, modelOut: modelFile)) }
                ) { @Sendable () async throws -> Void in
                    try await session.run(participant, expectedModel: model) { event in
                        switch event {
                        case .retrying(let reason, let after):
                            progress.line(String(format: "%@; retrying in %.1f s", reason, Double(after / .milliseconds(1)) / 1_000))
                        case .participant(let event): Self.show(event, progress)
                        }
                    }
                }
            } catch let error as ClientSessionError {
                // A planned leave (budget spent, or no DP-SGD offered to a silo requiring it), not a failure.
                guard let refusal = error.privacyRefusal else { throw error }
                progress.line("left the federation: \(refusal)")
                throw ExitCode(Self.leftForPrivacy)
            }
            if case .stopped(_, let settled) = outcome {
                progress.line(
                    settled
                        ? "stopped"
                        : "stopped; the work under way (local training, say) had not ended \(Self.stopGrace.components.seconds) s after the request and was left"
                )
            }
        }

        /// `--coordinator` as a host and a port, or a `ValidationError` naming the form to give:
        /// a URL (`https://`, `grpc://`) or a path is refused here, at once, rather than
        /// retried as a host name that never resolves.
        static func coordinatorAddress(_ text: String) throws -> (host: String, port: Int) {
            let form = "give HOST:PORT, the coordinator's address and the port its serve logs as 'listening on'"
            if let scheme = text.range(of: "://") {
                let authority = text[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
                let here = authority.isEmpty ? "" : authority.contains(":") ? " (here \(authority))" : " (here \(authority):PORT)"
                throw ValidationError(
                    "--coordinator \(text) is a URL: \(form)\(here), with no scheme or path; "
                        + "TLS comes from --cert, --key and --ca (or --insecure on loopback), not from '\(text[..<scheme.lowerBound])://'")
            }
            if let slash = text.firstIndex(of: "/") {
                let before = text[..<slash]
                if let colon = before.lastIndex(of: ":"), colon != before.startIndex, Int(before[before.index(after: colon)...]) != nil {
                    throw ValidationError("--coordinator \(text) has a path after the port: \(form) alone (here \(before))")
                }
                throw ValidationError(
                    "--coordinator \(text) is a path: the coordinator is reached over the network; \(form) (e.g. fed.example.org:7443)")
            }
            guard let colon = text.lastIndex(of: ":") else {
                throw ValidationError("--coordinator \(text) has no port: \(form) (e.g. \(text.isEmpty ? "fed.example.org" : text):7443)")
            }
            let host = String(text[..<colon]), portText = text[text.index(after: colon)...]
            guard !host.isEmpty else { throw ValidationError("--coordinator \(text) has no host: \(form)") }
            guard let port = Int(portText) else { throw ValidationError("--coordinator \(text): '\(portText)' is not a port number: \(form)") }
            guard (1...65_535).contains(port) else { throw ValidationError("--coordinator \(text): port \(port) is not in 1...65535") }
            return (host, port)
        }

        /// How long a client asked to stop waits for its session to end (a round's local
        /// training, which cannot be interrupted, may still be running).
        static let stopGrace: Duration = .seconds(10)

        /// What a client asked to stop says at once: that it leaves, and what stays where.
        static func stoppingLine(_ request: StopRequest, privacyLedger: String?, modelOut: String?) -> String {
            var kept = "the updates and evaluations it sent stay with the coordinator, which carries on without this silo"
            if let privacyLedger { kept += "; \(privacyLedger) keeps the rounds this silo trained with DP-SGD" }
            if let modelOut { kept += "; \(modelOut) is not written (the kept model comes only when the federation ends)" }
            return "asked to stop (\(request)): leaving the federation; \(kept)"
        }

        /// The exit status of a client that left because its privacy ledger refused a round.
        static let leftForPrivacy: Int32 = 3

        /// A ranking figure as the client prints it, or "n/a".
        private static func figure(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "n/a" }

        private static func show(_ event: ParticipantEvent, _ progress: Progress) {
            switch event {
            case .joined(let info): progress.line("joined as \(info.clientID); \(info.rounds) round\(info.rounds == 1 ? "" : "s")")
            case .training(let round, let examples): progress.line("round \(round): training on \(examples) examples")
            case .secureRound(let round, let attempt, let clients, let neighbours, let threshold):
                progress.line(
                    "round \(round)\(attempt > 1 ? " (attempt \(attempt): the coordinator retried the round)" : ""): secure aggregation with \(clients) silos, "
                        + "\(neighbours) neighbours, threshold \(threshold); the update is summed with the others', never sent alone")
            case .progress(let round, let epoch, let epochs, let done): progress.update("round \(round): epoch \(epoch)/\(epochs), \(done) examples")
            case .uploaded(let round, let bytes, let loss, let seconds, let secure):
                progress.line(
                    secure
                        ? String(format: "round %d: trained (train loss %.4f, %.2f s); sent its keys (%d bytes)", round, loss, seconds, bytes)
                        : String(format: "round %d: sent %d bytes (train loss %.4f, %.2f s)", round, bytes, loss, seconds))
            case .privacySpent(let round, let epsilon, let delta):
                progress.line(
                    String(format: "round %d: this silo has spent epsilon %.3f (delta %.3g, example level) by its own ledger", round, epsilon, delta))
            case .secured(let round, let phase, let bytes): progress.line("round \(round): secure aggregation, \(phase): sent \(bytes) bytes")
            case .evaluated(let round, let examples, let auc?, let local?):
                progress.line(
                    String(
                        format:
                            "round %d: this silo's test AUC %.4f with the federated model, %.4f with its own model of the round before averaging (%+.4f from federating; %d test examples)",
                        round, auc, local, auc - local, examples))
            case .evaluated(let round, let examples, let auc?, nil):
                progress.line(String(format: "round %d: this silo's test AUC %.4f (federated model, %d test examples)", round, auc, examples))
            case .evaluated(let round, let examples, nil, _):
                progress.line("round \(round): evaluated on \(examples) test examples (no test AUC: this silo's test split holds one label only)")
            case .dropped(let round, let reason): progress.line("round \(round): not counted (\(reason)); carrying on")
            case .popularity(let what): progress.line("most-popular baseline: \(what)")
            case .popularityScored(let round, let sums):
                // Figures joined by " / ", as the README's tables give them.
                let figures = [sums.hitRate, sums.ndcg, sums.recallAt20, sums.ndcgAt20].map { Self.figure($0) }.joined(separator: " / ")
                progress.line(
                    "round \(round): the most popular items (counts pooled over the silos) on this silo: HR@10 / NDCG@10 / Recall@20 / NDCG@20 \(figures)"
                )
            case .waiting: break
            case .keptModel(let version?): progress.line("the kept model (\(version.prefix(12))) written to its --model-out file")
            case .keptModel(nil): progress.line("no round was kept (no silo held a validation split): --model-out not written")
            case .done: progress.line("federation done")
            }
        }
    }
}
