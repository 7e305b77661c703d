package import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A published model's payload, kept in a file and read piece by piece, so that the
/// coordinator does not hold it in memory: the kernel's page cache serves the pieces and,
/// the pages being on disk, can take them back when memory is short. At 1M parameters a
/// payload is 3.4 MB, and two versions are served at once (clients still downloading the
/// previous one finish it).
///
/// The file has no name: it is unlinked as soon as it is created, lives as long as this
/// object, and a killed coordinator leaves nothing behind (but for a file created in the
/// instant before its unlink, which `removeLeftovers` clears at the next start).
package final class PayloadFile: Sendable {
    package let count: Int
    private let descriptor: Int32

    static let namePrefix = ".payload-"

    /// Writes `payload` to a new unnamed file in `folder`.
    package convenience init(_ payload: Data, in folder: String) throws {
        try self.init(in: folder) { write in try payload.withUnsafeBytes { try write($0) } }
    }

    /// A new unnamed file in `folder` holding what `body` writes with the function it is
    /// handed, piece by piece (a payload being encoded: never whole in memory).
    /// - Throws: `PayloadFileError` when the file cannot be made or written; what `body` throws.
    package init(in folder: String, writing body: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        var template = Array((folder as NSString).appendingPathComponent(Self.namePrefix + "XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw PayloadFileError("cannot create a payload file in \(folder)") }
        _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        var count = 0
        do {
            try body { bytes in
                guard bytes.count == 0 || Self.transfer(bytes.count, { done in write(descriptor, bytes.baseAddress! + done, bytes.count - done) })
                else { throw PayloadFileError("cannot write a payload file in \(folder)") }
                count += bytes.count
            }
        } catch {
            close(descriptor)
            throw error
        }
        self.descriptor = descriptor
        self.count = count
    }

    deinit { close(descriptor) }

    /// The payload's bytes in `range`, which lies within `0..<count`.
    package func read(_ range: Range<Int>) throws(PayloadFileError) -> Data {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "A piece lies within the payload.")
        var data = Data(count: range.count)
        let whole = data.withUnsafeMutableBytes { bytes in
            Self.transfer(bytes.count) { done in
                pread(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(range.lowerBound + done))
            }
        }
        guard whole else { throw PayloadFileError("cannot read the payload file") }
        return data
    }

    /// Calls `step` (a write or read of the bytes from `done` on) until `count` bytes have
    /// moved, again after an interrupted call; false if a call fails or moves nothing.
    private static func transfer(_ count: Int, _ step: (_ done: Int) -> Int) -> Bool {
        var done = 0
        while done < count {
            let n = step(done)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }

    /// Removes payload files that a coordinator killed between creating and unlinking one
    /// left in `folder`.
    static func removeLeftovers(in folder: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in names where name.hasPrefix(namePrefix) {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
        }
    }
}

/// A payload file could not be written or read: the message says which, and the system's reason.
package struct PayloadFileError: Error, CustomStringConvertible {
    package let description: String

    init(_ what: String) {
        description = "\(what): \(String(cString: strerror(errno)))"
    }
}
