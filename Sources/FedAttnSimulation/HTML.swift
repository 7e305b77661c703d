import Foundation

/// What the HTML pages share (the report, `ReportPage`, and the coordinator's status page,
/// `StatusPage`): escaping, figures as they print, and the style of their text and tables.
enum HTML {
    /// `text` safe as an element's text and in a double-quoted attribute: `&`, `<`, `>` and
    /// `"` escaped (a silo's name comes from its certificate, a dispute names it).
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A figure to four decimals, or "n/a".
    static func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "n/a" }

    /// Text, headings and tables; `tr.best` marks the kept round's row, `.kept` says which it is.
    static let style = """
        body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1400px; }
        h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
        table { border-collapse: collapse; } th, td { padding: 2px 10px; text-align: right; border-bottom: 1px solid #eee; }
        th { text-align: left; } tr.best td { background: #fff3c4; font-weight: 600; }
        .kept { background: #fff3c4; display: inline-block; padding: 4px 8px; }
        """
}
