public import FedAttnFederation
import FedAttnModel
import Foundation

/// One round as the report draws it.
public struct ReportRound: Sendable, Equatable {
    public let round: Int
    public let testAUC: Double?
    public let validationAUC: Double?
    /// What `--select-by ndcg` keeps a round by.
    public let validationNDCG: Double?
    public let testLogLoss: Double?
    public let hitRate: Double?
    public let ndcg: Double?
    /// Recall@20 and NDCG@20 over the whole catalogue.
    public let recallAt20: Double?
    public let ndcgAt20: Double?
    public let bytesUpPerClient: Int
    public let bytesDownPerClient: Int
    /// The round's wall seconds, and the slowest client's training seconds within them.
    public let seconds: Double
    public let trainSeconds: Double
    /// With DP-FedAvg: the epsilon spent per silo so far.
    public let epsilon: Double?
    /// With example-level DP-SGD: the most epsilon any silo has spent so far.
    public let exampleEpsilon: Double?
    /// Silos whose evaluation the round's figures pool.
    public let evaluatedClients: Int
    /// Silos whose evaluation was disputed (`RoundRecord.disputes`).
    public let disputes: [String]

    public init(_ record: RoundRecord) {
        evaluatedClients = record.evaluatedClients
        disputes = record.disputes
        exampleEpsilon = record.exampleEpsilon
        round = record.round
        testAUC = record.testAUC
        validationAUC = record.validationAUC
        validationNDCG = record.validationNDCG
        testLogLoss = record.testLogLoss
        hitRate = record.hitRate
        ndcg = record.ndcg
        recallAt20 = record.recallAt20
        ndcgAt20 = record.ndcgAt20
        bytesUpPerClient = record.bytesUpPerClient
        bytesDownPerClient = record.bytesDownPerClient
        seconds = record.seconds
        trainSeconds = record.trainSecondsMax
        epsilon = record.epsilon
    }
}

/// A federation's rounds as one self-contained HTML page (no script or file it loads): SVG
/// plots per round of test and validation AUC, log loss, HR@10 and NDCG@10, bytes up and down
/// per client, and seconds (training against overhead), with differential privacy the epsilon
/// spent so far (per silo: DP-FedAvg's, and DP-SGD's largest), the kept round marked on each,
/// then the settings and a table of the rounds.
public struct ReportPage: Sendable {
    public let title: String
    public let rounds: [ReportRound]
    /// The round kept (best validation AUC), if any.
    public let bestRound: Int?
    /// Name and value of each setting, in order.
    public let settings: [(name: String, value: String)]
    /// The most-popular baseline, shown beside the rounds' ranking figures (nil: none known).
    public let popularity: PopularityBaseline?

    public init(
        title: String, rounds: [ReportRound], bestRound: Int?, settings: [(name: String, value: String)], popularity: PopularityBaseline? = nil
    ) {
        self.title = title
        self.rounds = rounds
        self.bestRound = bestRound
        self.settings = settings
        self.popularity = popularity
    }

    /// One line of a plot: its name, its colour and its value per round (nil: not drawn there).
    struct Series {
        let name: String
        let color: String
        let values: [Double?]
    }

    public func html() -> String {
        let r = rounds
        let isPrivate = rounds.contains { $0.epsilon != nil || $0.exampleEpsilon != nil }
        let plots =
            [
                plot(
                    "auc", "AUC",
                    [
                        Series(name: "test AUC", color: "#1f77b4", values: r.map(\.testAUC)),
                        Series(name: "validation AUC", color: "#ff7f0e", values: r.map(\.validationAUC)),
                    ]),
                plot("logloss", "test log loss", [Series(name: "test log loss", color: "#d62728", values: r.map(\.testLogLoss))]),
                plot(
                    "ranking", "HR@10, NDCG@10 (99 sampled negatives); Recall@20, NDCG@20 (whole catalogue)",
                    [
                        Series(name: "HR@10", color: "#2ca02c", values: r.map(\.hitRate)),
                        Series(name: "NDCG@10", color: "#9467bd", values: r.map(\.ndcg)),
                        Series(name: "Recall@20", color: "#bcbd22", values: r.map(\.recallAt20)),
                        Series(name: "NDCG@20", color: "#17becf", values: r.map(\.ndcgAt20)),
                    ]),
                plot(
                    "bytes", "bytes per client",
                    [
                        Series(name: "bytes up", color: "#8c564b", values: r.map { Double($0.bytesUpPerClient) }),
                        Series(name: "bytes down", color: "#e377c2", values: r.map { Double($0.bytesDownPerClient) }),
                    ]),
                plot(
                    "seconds", "seconds",
                    [
                        Series(name: "training (slowest client)", color: "#17becf", values: r.map(\.trainSeconds)),
                        Series(name: "overhead", color: "#7f7f7f", values: r.map { max(0, $0.seconds - $0.trainSeconds) }),
                    ]),
            ]
            + (isPrivate
                ? [
                    plot(
                        "privacy", "epsilon spent (per silo)",
                        [
                            Series(name: "DP-FedAvg (client level)", color: "#bcbd22", values: r.map(\.epsilon)),
                            Series(name: "DP-SGD (example level, largest)", color: "#393b79", values: r.map(\.exampleEpsilon)),
                        ])
                ] : [])
        let kept =
            bestRound.map { best in
                let row = rounds.first { $0.round == best }
                return
                    "<p class=\"kept\">Kept: round \(best) (validation AUC \(HTML.number(row?.validationAUC)), validation NDCG@10 \(HTML.number(row?.validationNDCG)), test AUC \(HTML.number(row?.testAUC))), marked on every plot.</p>"
            } ?? "<p class=\"kept\">No round kept: no silo reported a validation split.</p>"
        // The baseline under the kept round, and as a last row of the table, in the ranking columns.
        let popular = popularity.map { "<p class=\"popularity\">\(HTML.escape($0.line))</p>" } ?? ""
        let popularRow =
            popularity.map { p in
                let s = p.isMeasured ? p.sums : RankingSums()
                return "<tr class=\"popularity\"><td>most popular items</td><td></td><td></td><td></td>"
                    + "<td>\(HTML.number(s.hitRate))</td><td>\(HTML.number(s.ndcg))</td><td>\(HTML.number(s.recallAt20))</td><td>\(HTML.number(s.ndcgAt20))</td>"
                    + "<td></td><td></td><td></td><td></td>\(isPrivate ? "<td></td><td></td>" : "")"
                    + "<td>\(HTML.escape(p.isMeasured ? "\(p.pooledWords), scored by \(p.scoredBy.count)" : p.whyNotMeasured ?? ""))</td></tr>"
            } ?? ""
        let settingRows = settings.map { "<tr><th>\(HTML.escape($0.name))</th><td>\(HTML.escape($0.value))</td></tr>" }.joined(separator: "\n")
        // A round evaluated by fewer silos than an earlier one is marked: its figures are
        // another population's (model selection compares it on the silos both share).
        var fullest = 0
        let notes = rounds.map { r in
            defer { fullest = max(fullest, r.evaluatedClients) }
            return (r.evaluatedClients < fullest ? ["evaluated by \(r.evaluatedClients) of \(fullest) silos"] : [])
                + r.disputes.map { "disputed: \($0)" }
        }
        let roundRows = zip(rounds, notes).map { r, notes in
            "<tr\(r.round == bestRound ? " class=\"best\"" : "")><td>\(r.round)</td><td>\(HTML.number(r.testAUC))</td><td>\(HTML.number(r.validationAUC))</td>"
                + "<td>\(HTML.number(r.testLogLoss))</td><td>\(HTML.number(r.hitRate))</td><td>\(HTML.number(r.ndcg))</td>"
                + "<td>\(HTML.number(r.recallAt20))</td><td>\(HTML.number(r.ndcgAt20))</td>"
                + "<td>\(r.bytesUpPerClient)</td><td>\(r.bytesDownPerClient)</td><td>\(String(format: "%.2f", r.seconds))</td>"
                + "<td>\(String(format: "%.2f", r.trainSeconds))</td>\(isPrivate ? "<td>\(HTML.number(r.epsilon))</td><td>\(HTML.number(r.exampleEpsilon))</td>" : "")"
                + "<td>\(HTML.escape(notes.joined(separator: "; ")))</td></tr>"
        }.joined(separator: "\n")
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(HTML.escape(title))</title>
            <style>
            \(HTML.style)
            .plots { display: flex; flex-wrap: wrap; gap: 16px; }
            figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 4px; }
            </style></head>
            <body>
            <h1>\(HTML.escape(title))</h1>
            \(kept)
            \(popular)
            <div class="plots">
            \(plots.joined(separator: "\n"))
            </div>
            <h2>Settings</h2>
            <table class="settings">
            \(settingRows)
            </table>
            <h2>Rounds</h2>
            <table class="rounds">
            <tr><th>round</th><th>test AUC</th><th>val AUC</th><th>log loss</th><th>HR@10</th><th>NDCG@10</th><th>Recall@20</th><th>NDCG@20</th><th>bytes up</th><th>bytes down</th><th>seconds</th><th>training</th>\(isPrivate ? "<th>epsilon (DP-FedAvg)</th><th>epsilon (DP-SGD, largest)</th>" : "")<th>notes</th></tr>
            \(roundRows)
            \(popularRow)
            </table>
            </body></html>

            """
    }

    /// A line plot of `series` over the rounds, 600 x 260, with its axes, a legend and the
    /// kept round as a dashed line.
    func plot(_ id: String, _ caption: String, _ series: [Series]) -> String {
        let (width, height) = (600.0, 260.0)
        let (left, right, top, bottom) = (64.0, 16.0, 28.0, 36.0)
        let xs = rounds.map { Double($0.round) }
        let values = series.flatMap { $0.values.compactMap { $0 } }
        guard let xMin = xs.min(), let xMax = xs.max(), var yMin = values.min(), var yMax = values.max() else {
            return "<figure id=\"\(id)\"><figcaption>\(HTML.escape(caption))</figcaption><p>no values</p></figure>"
        }
        if yMax - yMin < 1e-12 { (yMin, yMax) = (yMin - 0.5, yMax + 0.5) }
        let pad = (yMax - yMin) * 0.05
        (yMin, yMax) = (yMin - pad, yMax + pad)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func x(_ value: Double) -> Double { left + (xMax > xMin ? (value - xMin) / (xMax - xMin) : 0.5) * plotWidth }
        func y(_ value: Double) -> Double { top + (1 - (value - yMin) / (yMax - yMin)) * plotHeight }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var svg = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape(caption))\">",
            "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"#fafafa\" stroke=\"#ccc\"/>",
        ]
        for k in 0...4 {
            let value = yMin + (yMax - yMin) * Double(k) / 4
            svg.append("<line x1=\"\(f(left - 4))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(y(value)))\" y2=\"\(f(y(value)))\" stroke=\"#eee\"/>")
            svg.append("<text x=\"\(f(left - 6))\" y=\"\(f(y(value) + 4))\" font-size=\"11\" text-anchor=\"end\">\(Self.tick(value))</text>")
        }
        let step = max(1, Int((xMax - xMin) / 10))
        for round in stride(from: Int(xMin), through: Int(xMax), by: step) {
            svg.append("<text x=\"\(f(x(Double(round))))\" y=\"\(f(top + plotHeight + 16))\" font-size=\"11\" text-anchor=\"middle\">\(round)</text>")
        }
        svg.append("<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 4))\" font-size=\"11\" text-anchor=\"middle\">round</text>")
        if let best = bestRound, xs.contains(Double(best)) {
            svg.append(
                "<line class=\"kept\" x1=\"\(f(x(Double(best))))\" x2=\"\(f(x(Double(best))))\" y1=\"\(f(top))\" y2=\"\(f(top + plotHeight))\" stroke=\"#b8860b\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>"
            )
            // The label on the line's left near the right edge, so it is never cut off.
            let nearEdge = x(Double(best)) > left + plotWidth - 40
            svg.append(
                "<text x=\"\(f(x(Double(best)) + (nearEdge ? -3 : 3)))\" y=\"\(f(top + 11))\" font-size=\"11\" fill=\"#b8860b\" text-anchor=\"\(nearEdge ? "end" : "start")\">kept</text>"
            )
        }
        for (index, s) in series.enumerated() {
            let points = zip(xs, s.values).compactMap { px, v in v.map { "\(f(x(px))),\(f(y($0)))" } }
            guard !points.isEmpty else { continue }
            svg.append(
                "<polyline class=\"series\" data-series=\"\(HTML.escape(s.name))\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
            )
            for point in points {
                let xy = point.split(separator: ",")
                svg.append("<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\" fill=\"\(s.color)\"/>")
            }
            let legendX = left + 8 + Double(index) * (series.count > 3 ? 130 : 190)
            svg.append("<rect x=\"\(f(legendX))\" y=\"8\" width=\"14\" height=\"4\" fill=\"\(s.color)\"/>")
            svg.append("<text x=\"\(f(legendX + 18))\" y=\"14\" font-size=\"11\">\(HTML.escape(s.name))</text>")
        }
        svg.append("</svg>")
        return "<figure id=\"\(id)\"><figcaption>\(HTML.escape(caption))</figcaption>\n\(svg.joined(separator: "\n"))\n</figure>"
    }

    static func tick(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 10_000 { return String(format: "%.0fk", value / 1_000) }
        if magnitude >= 100 { return String(format: "%.0f", value) }
        if magnitude >= 1 { return String(format: "%.2f", value) }
        return String(format: "%.3f", value)
    }
}
