import ArgumentParser
import Foundation

/// Checks, before any work, that `path`'s folder exists, so that a file written at the end
/// of a long run (a report, a model, a ledger) is not refused after the work is done.
/// - Throws: a `ValidationError` naming `flag` and the folder.
public func requireFolder(of path: String, flag: String) throws {
    let folder = (path as NSString).deletingLastPathComponent
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isFolder), isFolder.boolValue else {
        throw ValidationError("\(flag) \(path): the folder \(folder) does not exist")
    }
}
