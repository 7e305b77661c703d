import Foundation

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
final class PayloadFile: Sendable {
    let count: Int
    private let descriptor: Int32

    static let namePrefix = ".payload-"

    /// Writes `payload` to a new unnamed file in `folder`.
    init(_ payload: Data, in folder: String) throws(PayloadFileError) {
        var template = Array((folder as NSString).appendingPathComponent(Self.namePrefix + "XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw PayloadFileError("cannot create a payload file in \(folder)") }
        _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        let whole = payload.withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let n = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return false }
                written += n
            }
            return true
        }
        guard whole else {
            let error = PayloadFileError("cannot write a payload file in \(folder)")
            close(descriptor)
            throw error
        }
        self.descriptor = descriptor
        self.count = payload.count
    }

    deinit { close(descriptor) }

    /// The payload's bytes in `range`, which lies within `0..<count`.
    func read(_ range: Range<Int>) throws(PayloadFileError) -> Data {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "A piece lies within the payload.")
        var data = Data(count: range.count)
        let whole = data.withUnsafeMutableBytes { bytes in
            var done = 0
            while done < bytes.count {
                let n = pread(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(range.lowerBound + done))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return false }
                done += n
            }
            return true
        }
        guard whole else { throw PayloadFileError("cannot read the payload file") }
        return data
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
struct PayloadFileError: Error, CustomStringConvertible {
    let description: String

    init(_ what: String) {
        description = "\(what): \(String(cString: strerror(errno)))"
    }
}
