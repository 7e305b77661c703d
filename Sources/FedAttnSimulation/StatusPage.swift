public import FedAttnFederation
public import Foundation

/// A coordinator's status (`CoordinatorStatus`) as `serve` answers it on its monitoring port:
/// one self-contained HTML page for people (`/status`: no script, nothing fetched, its style
/// inline; it reloads itself every `refreshSeconds`), and JSON for scripts (`/status.json`).
/// The page says the phase in its heading, then the facts (rounds, kept round, server rule,
/// allow-list, privacy, certificate), the silos (connected, missing, removed; their rounds and
/// epsilon) and the rounds, newest first, with their figures, times and notes (kept, partial,
/// disputed, retried). Every text is escaped: a silo's name comes from its certificate.
public enum StatusPage {
    /// Seconds between the page's reloads.
    public static let refreshSeconds = 10

    /// From this many days before the certificate expires, the page marks it (as `serve` warns).
    static let certificateWarningDays = 30

    /// The page.
    public static func html(_ status: CoordinatorStatus) -> String {
        let phase = HTML.escape(status.phaseLine)
        let facts = Self.facts(status).map { fact in
            "<tr><th>\(HTML.escape(fact.name))</th><td\(fact.warn ? " class=\"warn\"" : "")>\(HTML.escape(fact.value))</td></tr>"
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="\(refreshSeconds)">
            <title>FedAttention coordinator: \(phase)</title>
            <style>
            \(HTML.style)
            .phase { font-size: 16px; font-weight: 600; background: #e8f0fa; display: inline-block; padding: 4px 8px; }
            table.facts td, table.silos td:nth-child(-n+2) { text-align: left; }
            .warn, tr.missing td, tr.removed td { color: #a30000; }
            table.rounds { font-size: 13px; } table.rounds th, table.rounds td { padding: 2px 5px; vertical-align: top; }
            tr.round td { white-space: nowrap; } tr.notes td { text-align: left; color: #555; font-weight: normal; }
            tr.round:has(+ tr.notes) td { border-bottom: none; }
            </style></head>
            <body>
            <h1>FedAttention coordinator</h1>
            <p class="phase phase-\(status.phase.state.rawValue)" id="phase">\(phase)</p>
            <table class="facts" id="facts">
            \(facts.joined(separator: "\n"))
            </table>
            <h2>Silos</h2>
            \(silos(status))
            <h2>Rounds, newest first</h2>
            \(rounds(status))
            </body></html>

            """
    }

    /// The facts table's rows: name, value (not yet escaped), and whether it is marked.
    static func facts(_ status: CoordinatorStatus) -> [(name: String, value: String, warn: Bool)] {
        let connected = status.silos.filter { $0.state == .connected }.count
        let missing = status.silos.filter { $0.state == .missing }.count
        let kept: String =
            if let round = status.keptRound {
                "round \(round) (best \(status.keptBy); \(StateStore.bestModelFile))"
            } else {
                "none yet: no round has a \(status.keptBy)"
            }
        let allowList: String =
            if let file = status.membersFile {
                "\(file): only the silos it lists are admitted"
            } else {
                "none (no --members): every silo whose certificate the federation CA signed is admitted"
            }
        let certificateSoon = status.certificate.map { $0.daysLeft < certificateWarningDays } ?? false
        var rows: [(name: String, value: String, warn: Bool)] = []
        rows.append((name: "rounds", value: "\(status.completedRounds) of \(status.plannedRounds) evaluated", warn: false))
        rows.append((name: "kept round", value: kept, warn: false))
        rows.append((name: "server rule", value: status.strategy, warn: false))
        rows.append(
            (name: "silos", value: "\(connected) connected, \(missing) missing; a round needs \(status.phase.needed)", warn: missing > 0))
        rows.append((name: "allow-list", value: allowList, warn: false))
        rows.append((name: "privacy", value: privacy(status.privacy), warn: false))
        if let popularity = status.popularity { rows.append((name: "most popular items", value: popularity.line, warn: false)) }
        rows.append((name: "certificate", value: certificate(status.certificate, at: status.time), warn: certificateSoon))
        rows.append(
            (name: "as of", value: "\(status.time.formatted(.iso8601)); this page reloads every \(refreshSeconds) s", warn: false))
        return rows
    }

    /// The silos' table: connected, then missing, then removed; with example-level DP-SGD
    /// the epsilon each has spent (and the budget, when set).
    static func silos(_ status: CoordinatorStatus) -> String {
        guard !status.silos.isEmpty else {
            return "<p>No silo has joined yet\(status.membersFile == nil ? "" : ", and the allow-list names none").</p>"
        }
        let exampleLevel = status.privacy?.exampleLevel ?? false
        let budget = status.privacy?.exampleBudget
        var header: [String] = ["silo", "state", "rounds trained", "last round"]
        if exampleLevel { header.append("epsilon spent (DP-SGD)") }
        if exampleLevel, budget != nil { header.append("budget") }
        let rows = status.silos.map { silo in
            var cells: [String] = [HTML.escape(silo.name), silo.state.rawValue, "\(silo.rounds)", silo.lastRound.map { "\($0)" } ?? "none"]
            if exampleLevel { cells.append(epsilon(silo.epsilon)) }
            if exampleLevel, let budget { cells.append(epsilon(budget)) }
            return "<tr class=\"silo \(silo.state.rawValue)\">" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>"
        }
        return "<table class=\"silos\" id=\"silos\">\n" + headerRow(header) + "\n" + rows.joined(separator: "\n") + "\n</table>"
    }

    /// The rounds' table, newest first; the kept round's row marked (`best`), and under a
    /// round's row, when it has any, a row of its notes: kept, evaluated by fewer silos than
    /// an earlier round, disputed, retried.
    static func rounds(_ status: CoordinatorStatus) -> String {
        guard !status.rounds.isEmpty else { return "<p>No round evaluated yet.</p>" }
        let popularity = status.popularity
        let clientLevel = status.rounds.contains { $0.epsilon != nil }
        let exampleLevel = status.rounds.contains { $0.exampleEpsilon != nil }
        var header: [String] = [
            "round", "published", "seconds", "training", "trained", "evaluated", "test AUC", "val AUC", "val NDCG@10", "HR@10", "NDCG@10",
            "Recall@20", "NDCG@20", "log loss",
        ]
        if clientLevel { header.append("epsilon (DP-FedAvg)") }
        if exampleLevel { header.append("epsilon (DP-SGD, largest)") }
        let rows = status.rounds.reversed().map { r in
            let kept = r.round == status.keptRound
            var notes: [String] = kept ? ["kept (best \(status.keptBy))"] : []
            if let fullest = r.partialOf { notes.append("evaluated by \(r.evaluatedClients) of \(fullest) silos") }
            notes += r.disputes.map { "disputed: \($0)" }
            notes += r.retries.map { "retried: \($0)" }
            var classes: [String] = ["round"]
            if kept { classes.append("best") }
            if r.partialOf != nil { classes.append("partial") }
            if !r.disputes.isEmpty { classes.append("disputed") }
            var cells: [String] = [
                "\(r.round)", r.publishedAt.map { $0.formatted(.iso8601) } ?? "n/a", String(format: "%.2f", r.seconds),
                String(format: "%.2f", r.trainSecondsMax), "\(r.participants)", "\(r.evaluatedClients)", HTML.number(r.testAUC),
                HTML.number(r.validationAUC), HTML.number(r.validationNDCG), HTML.number(r.hitRate), HTML.number(r.ndcg),
                HTML.number(r.recallAt20), HTML.number(r.ndcgAt20), HTML.number(r.testLogLoss),
            ]
            if clientLevel { cells.append(epsilon(r.epsilon)) }
            if exampleLevel { cells.append(epsilon(r.exampleEpsilon)) }
            let row =
                "<tr class=\"\(classes.joined(separator: " "))\" data-round=\"\(r.round)\">" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>"
            guard !notes.isEmpty else { return row }
            let spanned = "<td colspan=\"\(header.count - 1)\">\(HTML.escape(notes.joined(separator: "; ")))</td>"
            return row + "\n<tr class=\"notes\(kept ? " best" : "")\" data-notes=\"\(r.round)\"><td></td>\(spanned)</tr>"
        }
        // The most-popular baseline first, in the ranking columns, once some silo scored it.
        var baseline: [String] = []
        if let p = popularity, p.hitRate != nil || p.recallAt20 != nil {
            var cells = [String](repeating: "", count: header.count)
            cells[0] = "most popular items"
            for (name, value) in [("HR@10", p.hitRate), ("NDCG@10", p.ndcg), ("Recall@20", p.recallAt20), ("NDCG@20", p.ndcgAt20)] {
                if let column = header.firstIndex(of: name) { cells[column] = HTML.number(value) }
            }
            baseline = ["<tr class=\"popularity\">" + cells.map { "<td>\(HTML.escape($0))</td>" }.joined() + "</tr>"]
        }
        return "<table class=\"rounds\" id=\"rounds\">\n" + headerRow(header) + "\n" + (baseline + rows).joined(separator: "\n") + "\n</table>"
    }

    /// A table's header row of `names` (plain text).
    static func headerRow(_ names: [String]) -> String { "<tr>" + names.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr>" }

    /// The same facts as JSON: snake-case keys, dates in ISO 8601 (whole seconds), keys
    /// sorted; an infinite or undefined figure as the string "inf", "-inf" or "nan".
    public static func json(_ status: CoordinatorStatus) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return try encoder.encode(status)
        } catch {
            return Data("{\"error\": \"the status could not be encoded as JSON\"}\n".utf8)
        }
    }

    /// A status read back from `json()`'s output (what a script in Swift would do).
    public static func status(fromJSON data: Data) throws -> CoordinatorStatus {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(CoordinatorStatus.self, from: data)
    }

    /// Epsilon as `history` prints it (three decimals), or "n/a".
    static func epsilon(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "n/a" }

    /// The privacy line: each kind that runs, its spend and budget.
    static func privacy(_ privacy: CoordinatorStatus.Privacy?) -> String {
        guard let privacy else { return "no differential privacy" }
        var kinds: [String] = []
        if privacy.exampleLevel {
            kinds.append(
                "example-level DP-SGD in every silo (each silo's epsilon below), "
                    + (privacy.exampleBudget.map { "budget epsilon \(epsilon($0)) per silo" } ?? "no budget"))
        }
        if privacy.clientLevel {
            kinds.append(
                "DP-FedAvg: epsilon \(epsilon(privacy.clientEpsilon)) per silo spent, "
                    + (privacy.clientBudget.map { "of a budget of \(epsilon($0))" } ?? "no budget"))
        }
        return kinds.joined(separator: "; ")
    }

    /// The certificate line: its expiry and the days left at `time`.
    static func certificate(_ certificate: CoordinatorStatus.Certificate?, at time: Date) -> String {
        guard let certificate else { return "none (--insecure: plaintext on loopback)" }
        let date = certificate.notAfter.formatted(.iso8601)
        guard certificate.notAfter > time else {
            return
                "\(certificate.file) expired on \(date): clients can no longer connect; renew it (fedattn-coordinator renew --server): serve takes the new one at its next connection, without a restart"
        }
        let days = certificate.daysLeft
        let left = days == 0 ? "less than a day left" : "\(days) day\(days == 1 ? "" : "s") left"
        let renew =
            days < certificateWarningDays ? ": renew it before then (fedattn-coordinator renew --server; serve takes it without a restart)" : ""
        return "\(certificate.file) expires on \(date) (\(left))\(renew)"
    }
}
