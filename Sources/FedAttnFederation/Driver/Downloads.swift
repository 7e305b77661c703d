/// The download each client has under way, so that the pieces of one download come from one
/// payload. A client fetches a model piece by piece; between two pieces it could change the
/// base version it names (or the coordinator could come to answer the same request with
/// another payload: a catch-up where it sent the whole model), and glue together bytes of two
/// payloads that only its digest check would catch. So a download begins with its piece at
/// offset 0, and a piece at a later offset is served only from the payload that piece came
/// from; anything else is refused, and the client begins again at offset 0.
///
/// A value the coordinator owns, one small entry per client that has downloaded, kept across
/// its connections (a client whose transport reconnected mid-download goes on where it was).
/// It holds payloads weakly: a payload the coordinator no longer serves is not kept alive for
/// a client that stopped downloading it, and a download whose payload is gone cannot go on.
struct Downloads {
    /// The download a client began: what it asked for, and the payload its first piece came from.
    private struct Begun {
        /// "model V from base version B", cut short (a base is any string a client sends).
        let asked: String
        weak var payload: PayloadFile?
    }

    private var begun: [String: Begun] = [:]

    /// Checks that `client` may have the piece at `offset` of `payload`, which the coordinator
    /// serves for `version` and `base`: a piece at offset 0 begins a download (this one,
    /// replacing any other); a later piece must come from the payload its download began with.
    /// - Throws: `.otherDownload` naming the client, the versions and bases of both downloads
    ///   (or that none was begun) and what to do.
    mutating func piece(for client: String, version: String, base: String?, offset: Int, of payload: PayloadFile) throws(CoordinatorError) {
        let asked = Self.describe(version, base)
        if offset == 0 {
            begun[client] = Begun(asked: asked, payload: payload)
            return
        }
        guard let download = begun[client] else {
            throw .otherDownload(
                "client '\(client)' asks for byte \(offset) of \(asked), but has begun no download (a download begins at offset 0): ask from offset 0"
            )
        }
        guard let started = download.payload, started === payload else {
            let what =
                download.asked == asked
                ? "the payload its download began with is no longer the one served for it" : "its download under way is of \(download.asked)"
            throw .otherDownload(
                "client '\(client)' asks for byte \(offset) of \(asked), but \(what): the pieces of one download come from one payload; begin again at offset 0"
            )
        }
    }

    /// "model V from base version B" (or "with no base version"), versions cut to 12 characters.
    private static func describe(_ version: String, _ base: String?) -> String {
        guard let base else { return "model \(version.prefix(12)) with no base version" }
        return "model \(version.prefix(12)) from base version \(base.prefix(12))"
    }
}
