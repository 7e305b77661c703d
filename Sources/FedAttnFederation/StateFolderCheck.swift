import Foundation

/// A state folder checked as a whole before a coordinator writes to it: the history, the
/// round files, the kept model and the server states must tell one story, or the coordinator
/// refuses to start, naming what disagrees and what to do, with nothing written. Without this,
/// a lost or emptied `history.sqlite` made `serve` publish rounds 1, 2, ... again over the
/// files clients had already downloaded (OpenFL #1367, metaseq #53 report the same), and a
/// history with a hole (round 3 unevaluated, round 4 evaluated) made it retrain round 4 and
/// then retry storing it for as long as it ran.
///
/// What is allowed: the last round published but not evaluated (a stop between the two), and
/// one round file past the history (a stop between a file made durable and its row, which no
/// client can have heard of: the round is published again over it).
enum StateFolderCheck {
    /// The rounds the history lists, as the check needs them.
    struct Round {
        let round: Int
        let modelFile: String
        let evaluated: Bool
    }

    /// Checks `folder` (its file names `files`) against the history's `rounds` (none when the
    /// history is missing or empty).
    /// - Throws: `StateFolderError` naming the folder, what disagrees, and what to do.
    static func check(folder: String, files: [String], rounds: [Round], historyExists: Bool) throws(StateFolderError) {
        func refuse(_ what: String, _ todo: String) -> StateFolderError {
            StateFolderError("state folder \(folder) is inconsistent: \(what); nothing was written. \(todo)")
        }
        let restore = "Restore history.sqlite (and the round files) from a backup, or move the folder aside and start a new --state folder."
        let published = files.compactMap(roundNumber).sorted()
        let last = rounds.last?.round ?? 0
        let kept = files.contains(StateStore.bestModelFile)
        if rounds.isEmpty, published.contains(where: { $0 > 1 }) || kept {
            let lost = historyExists ? "history.sqlite lists no round" : "history.sqlite is missing"
            throw refuse(
                "\(lost), but the folder holds published rounds (\(describe(published))\(kept ? ", \(StateStore.bestModelFile)" : "")): "
                    + "starting would publish round 1 again over files clients have downloaded",
                restore)
        }
        for (index, round) in rounds.enumerated() where round.round != index + 1 {
            throw refuse("history.sqlite lists round \(round.round) where round \(index + 1) belongs (a round is missing from it)", restore)
        }
        if let hole = rounds.dropLast().first(where: { !$0.evaluated }) {
            throw refuse(
                "history.sqlite has round \(hole.round) published but not evaluated, though later rounds are (only the last round may be)",
                restore)
        }
        for round in rounds where !files.contains(round.modelFile) {
            throw refuse("round \(round.round)'s model file \(round.modelFile) is missing", restore)
        }
        if let stray = published.first(where: { $0 > last + 1 }) {
            throw refuse(
                "the folder holds \(String(format: "round-%03d.safetensors", stray)) but history.sqlite ends at round \(last) "
                    + "(rounds published after it were lost from the history)",
                restore)
        }
        if kept, !rounds.contains(where: \.evaluated) {
            throw refuse("the folder holds \(StateStore.bestModelFile) but history.sqlite has no evaluated round to have kept it", restore)
        }
    }

    /// N of `round-NNN.safetensors`, or nil for another name.
    static func roundNumber(_ file: String) -> Int? {
        guard file.hasPrefix("round-"), file.hasSuffix(".safetensors") else { return nil }
        return Int(file.dropFirst("round-".count).dropLast(".safetensors".count))
    }

    private static func describe(_ rounds: [Int]) -> String {
        guard let first = rounds.first, let last = rounds.last else { return "" }
        let name = { (n: Int) in String(format: "round-%03d.safetensors", n) }
        return first == last ? name(first) : "\(name(first)) to \(name(last))"
    }
}
