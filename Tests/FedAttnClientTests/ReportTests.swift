import Foundation
import Testing
import _FedAttnTestSupport

/// The HTML report, rendered as a person sees it: headless Chromium takes a screenshot and
/// the test counts the pixels each plot's lines drew.
struct ReportTests {
    /// Each plotted series and its colour in the page.
    static let series = [
        ("test AUC", "#1f77b4"), ("validation AUC", "#ff7f0e"), ("test log loss", "#d62728"), ("HR@10", "#2ca02c"), ("NDCG@10", "#9467bd"),
        ("bytes up", "#8c564b"), ("bytes down", "#e377c2"), ("training", "#17becf"),
    ]

    @Test func aSimulationsReportIsSelfContainedAndNamesTheKeptRoundAndSettings() throws {
        let page = try Fixtures.temporaryFolder() + "/report.html"
        let run = try ProcessRunner.run(OperatorFaultTests.coordinator, ["simulate", "--link", "in-process", "--rounds", "4", "--report", page])
        #expect(run.status == 0, "\(run.standardError)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        // One file: nothing loaded from elsewhere, no script.
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="))
        for id in ["auc", "logloss", "ranking", "bytes", "seconds"] { #expect(html.contains("<figure id=\"\(id)\">"), "no \(id) plot") }
        #expect(html.components(separatedBy: "<polyline").count - 1 == 11)  // two lines a plot, one for the log loss, four for ranking
        #expect(html.contains("Kept: round ") && html.components(separatedBy: "class=\"kept\" x1").count - 1 == 5)
        #expect(html.contains("<th>server rule</th>") && html.contains("<th>rounds</th><td>4</td>"))
        #expect(html.components(separatedBy: "<tr").count - 1 >= 4 + 1 + 16)  // the rounds, their header, the settings
    }

    @Test(.enabled(if: ProcessRunner.chromium != nil, "needs headless Chromium (make deps installs it)"))
    func chromiumDrawsEveryPlotsLinesAndTheKeptRound() throws {
        let folder = try Fixtures.temporaryFolder()
        let page = folder + "/report.html", shot = folder + "/report.png"
        let run = try ProcessRunner.run(OperatorFaultTests.coordinator, ["simulate", "--link", "in-process", "--rounds", "4", "--report", page])
        #expect(run.status == 0, "\(run.standardError)")
        let render = try ProcessRunner.run(
            ProcessRunner.chromium!,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1300,1500", "--screenshot=\(shot)",
                "file://\(page)",
            ])
        #expect(render.status == 0, "\(render.standardError)")
        let image = try PNGImage(try Data(contentsOf: URL(fileURLWithPath: shot)))
        #expect(image.width == 1300 && image.height == 1500)
        for (name, color) in Self.series {
            #expect(image.count(color) > 150, "\(name) (\(color)): \(image.count(color)) pixels drawn")
        }
        // Five dashed lines about 200 pixels tall, half of them drawn: far more than the five "kept" labels alone.
        #expect(image.count("#b8860b", tolerance: 20) > 400, "the kept round's dashed lines: \(image.count("#b8860b", tolerance: 20)) pixels")
        // The AUC plot is the first, top left: all of its blue is there.
        #expect(image.count("#1f77b4", in: (0..<700, 0..<420)) == image.count("#1f77b4"))
    }

    /// With example-level DP-SGD the report plots the epsilon spent, round by round, and the
    /// table lists it; Chromium draws the line (when it is installed).
    @Test func aPrivateRunsReportPlotsTheEpsilonSpent() throws {
        let folder = try Fixtures.temporaryFolder()
        let page = folder + "/report.html", shot = folder + "/report.png"
        let run = try ProcessRunner.run(
            OperatorFaultTests.coordinator,
            ["simulate", "--link", "in-process", "--rounds", "3", "--example-target-epsilon", "4", "--report", page])
        #expect(run.status == 0, "\(run.standardError)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.contains("<figure id=\"privacy\">"))
        #expect(html.contains("data-series=\"DP-SGD (example level, largest)\""))
        #expect(!html.contains("data-series=\"DP-FedAvg (client level)\""), "no client-level line without DP-FedAvg")
        #expect(html.contains("<th>epsilon (DP-SGD, largest)</th>"))
        #expect(html.contains("<th>example-level DP-SGD</th><td>target epsilon 4.0 per silo</td>"))
        guard let chromium = ProcessRunner.chromium else { return }
        let render = try ProcessRunner.run(
            chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1300,1500", "--screenshot=\(shot)",
                "file://\(page)",
            ])
        #expect(render.status == 0, "\(render.standardError)")
        let image = try PNGImage(try Data(contentsOf: URL(fileURLWithPath: shot)))
        #expect(image.count("#393b79") > 150, "the epsilon line: \(image.count("#393b79")) pixels drawn")
    }
}
