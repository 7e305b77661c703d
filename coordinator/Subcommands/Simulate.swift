import ArgumentParser
import FedAttnCommandLine
import FedAttnData
import FedAttnFederation
import FedAttnModel
import FedAttnSimulation
import Foundation

extension CoordinatorCommand {
    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a whole federation on this machine: a coordinator and one client per silo file.",
            discussion: "Takes serve's federation settings (flags or --config); every silo joins, so --min-clients is the number of silos.")

        @Option(name: .long, help: "A folder of silo .csv files, one client each. Default: the built-in synthetic silos.")
        var silos: String?

        @OptionGroup var settings: FederationSettings
        @Option(name: .long, help: "Threads each client trains with.") var threads = 1
        @Option(
            name: .long,
            help: "Share of each user's train rows each silo holds out as its validation split, which chooses the round kept; 0 for none.")
        var validationFraction = 0.1
        @Option(name: .long, help: "Make the last N silos hostile (they train, then attack with what they send).") var hostile = 0
        @Option(
            name: .long,
            help:
                "What hostile silos do: sign-flip, scale:K, noise, inflate-examples, forge-eval-high (claim a perfect round 1), forge-eval-low (claim useless later rounds), or none (send honestly: the clean run scored over the same silos)."
        ) var attack = "sign-flip"
        @Option(
            name: .long,
            help:
                "With --secure-aggregation and --link in-process: the first N silos drop out of round --dropout-round after sending their masked values (their connection closes), and join again after it."
        ) var dropouts = 0
        @Option(name: .long, help: "The round --dropouts drop out of.") var dropoutRound = 2
        @Option(name: .long, help: "How clients reach the coordinator: grpc (loopback, mutual TLS) or in-process.")
        var link = "grpc"
        @Option(name: .long, help: "Write the global model here (.safetensors): the last round's, or with --patience the kept round's.")
        var out: String?
        @Option(name: .long, help: "Write an HTML report of the rounds here (plots per round, the kept round marked, the settings).")
        var report: String?
        @Flag(name: .long, help: "Print one JSON object instead of a table.") var json = false

        func validate() throws {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
            guard validationFraction >= 0, validationFraction < 1 else { throw ValidationError("--validation-fraction must lie in [0, 1)") }
            guard hostile >= 0 else { throw ValidationError("--hostile must be 0 or more") }
            guard dropouts >= 0, dropoutRound >= 1 else { throw ValidationError("--dropouts must be 0 or more, --dropout-round at least 1") }
            if dropouts > 0 {
                guard settings.secureAggregation else { throw ValidationError("--dropouts drop out of a secure round: give --secure-aggregation") }
                guard link == "in-process" else { throw ValidationError("--dropouts needs --link in-process (a silo closes its connection at once)") }
            }
            guard Attack(attack) != nil else {
                throw ValidationError(
                    "--attack \(attack) is not an attack: give sign-flip, scale:K, noise, inflate-examples, forge-eval-high, forge-eval-low or none")
            }
            guard SimulationLink(rawValue: link) != nil else { throw ValidationError("--link must be grpc or in-process") }
            // Checked now, not after a run of minutes whose results would then be lost.
            for (flag, path) in [("--out", out), ("--report", report)] { if let path { try requireFolder(of: path, flag: flag) } }
            _ = try settings.resolve(membershipKnown: false)
        }

        func run() async throws {
            let builtIn = SyntheticGenerator.Config.demo
            let (modelConfig, _) = try settings.resolve(
                defaultModel: silos == nil ? ModelConfig(items: builtIn.itemMapping, strategies: builtIn.strategies) : ModelConfig(),
                membershipKnown: false)
            let builder = ExampleBuilder(historyLength: modelConfig.historyLength)
            let data: [SimulatedSilo]
            if let silos {
                let reader = ClickLogReader(items: modelConfig.items, strategies: modelConfig.strategies)
                data = try SimulatedSilo.load(folder: silos, reader: reader, builder: builder, validationFraction: validationFraction)
            } else {
                data = SimulatedSilo.builtIn(count: 10, builder: builder, validationFraction: validationFraction)
            }
            guard hostile <= data.count else { throw ValidationError("--hostile \(hostile) is more than the \(data.count) silos") }
            guard dropouts < data.count else { throw ValidationError("--dropouts \(dropouts) must leave some of the \(data.count) silos") }
            // Again, knowing the silos: every one joins (DP-FedAvg's delta and sampling rate count them).
            let config = try settings.resolve(defaultModel: modelConfig, clients: data.count).coordinator
            let simulation = Simulation(
                silos: data, modelConfig: modelConfig, config: config, link: SimulationLink(rawValue: link)!, modelSeed: config.plan.seed,
                threads: threads, hostile: (hostile, Attack(attack)!), dropouts: (dropouts, dropoutRound))
            if !json {
                let line = "\(data.count) silos, \(data.reduce(0) { $0 + $1.train.count }) train examples; \(config.rounds) rounds over \(link)\n"
                FileHandle.standardError.write(Data(line.utf8))
                print(RoundReport.header)
            }
            let quiet = json
            var report = try await simulation.run { round in
                guard !quiet else { return }
                print(round.line)
                fflush(nil)
            }
            report.popularity = SimulatedSilo.popularity(of: data, model: modelConfig)
            // With early stopping the kept round's model is the result (as `train --patience --out`).
            let written = config.patience > 0 ? (report.keptModel ?? report.finalModel) : report.finalModel
            if let out { try ModelFile.save(written, to: out) }
            if let path = self.report {
                var settings = config.settingsTable(model: modelConfig, strategyName: report.strategy)
                settings.insert(("silos", silos ?? "the 10 built-in synthetic silos"), at: 0)
                settings.append(("validation fraction", "\(validationFraction)"))
                settings.append(("link", link))
                if hostile > 0 { settings.append(("hostile silos", "\(hostile), \(attack)")) }
                let page = ReportPage(
                    title:
                        "FedAttention federation: \(silos.map { ($0 as NSString).lastPathComponent } ?? "built-in silos"), \(report.rounds.count) rounds",
                    rounds: report.records.map(ReportRound.init), bestRound: report.best?.round, settings: settings,
                    popularity: report.popularity.map {
                        PopularityBaseline(status: .pooled, pooledFrom: data.map(\.name), scoredBy: data.map(\.name), sums: $0)
                    })
                do {
                    try Data(page.html().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
                } catch {
                    throw ValidationError("--report \(path): cannot write the report there: \(error.localizedDescription)")
                }
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.summary)
                if let out { print("final model written to \(out)") }
                if let path = self.report { print("report written to \(path)") }
            }
        }
    }
}
