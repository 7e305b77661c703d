import CZlib
public import Foundation

/// An 8-bit RGB or RGBA PNG, decoded (what headless Chromium's screenshots are): enough to
/// check what a page drew, by counting pixels of a colour.
public struct PNGImage {
    public let width: Int
    public let height: Int
    /// RGBA, row by row.
    public let pixels: [UInt8]

    public enum DecodeError: Error { case notPNG, unsupported(String), corrupt(String) }

    public init(_ data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw DecodeError.notPNG }
        func u32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        var offset = 8
        var (width, height, channels) = (0, 0, 0)
        var compressed: [UInt8] = []
        while offset + 8 <= bytes.count {
            let length = u32(offset), type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let body = (offset + 8)..<(offset + 8 + length)
            guard body.upperBound <= bytes.count else { throw DecodeError.corrupt("chunk \(type) runs past the end") }
            switch type {
            case "IHDR":
                (width, height) = (u32(body.lowerBound), u32(body.lowerBound + 4))
                let (depth, color, interlace) = (bytes[body.lowerBound + 8], bytes[body.lowerBound + 9], bytes[body.lowerBound + 12])
                guard depth == 8, color == 2 || color == 6, interlace == 0 else {
                    throw DecodeError.unsupported("depth \(depth), colour type \(color), interlace \(interlace)")
                }
                channels = color == 6 ? 4 : 3
            case "IDAT": compressed += bytes[body]
            default: break
            }
            offset = body.upperBound + 4
        }
        let rowBytes = width * channels
        var raw = [UInt8](repeating: 0, count: (rowBytes + 1) * height)
        var rawCount = uLongf(raw.count)
        let status = raw.withUnsafeMutableBufferPointer { out in
            compressed.withUnsafeBufferPointer { source in uncompress(out.baseAddress, &rawCount, source.baseAddress, uLong(source.count)) }
        }
        guard status == Z_OK, Int(rawCount) == raw.count else { throw DecodeError.corrupt("zlib status \(status)") }
        // Undo each scanline's filter (PNG specification, section 9).
        var image = [UInt8](repeating: 0, count: rowBytes * height)
        for row in 0..<height {
            let filter = raw[row * (rowBytes + 1)]
            for i in 0..<rowBytes {
                let x = Int(raw[row * (rowBytes + 1) + 1 + i])
                let a = i >= channels ? Int(image[row * rowBytes + i - channels]) : 0
                let b = row > 0 ? Int(image[(row - 1) * rowBytes + i]) : 0
                let c = row > 0 && i >= channels ? Int(image[(row - 1) * rowBytes + i - channels]) : 0
                let value: Int
                switch filter {
                case 0: value = x
                case 1: value = x + a
                case 2: value = x + b
                case 3: value = x + (a + b) / 2
                case 4:
                    let p = a + b - c
                    let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                    value = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)
                default: throw DecodeError.corrupt("filter \(filter) on row \(row)")
                }
                image[row * rowBytes + i] = UInt8(truncatingIfNeeded: value)
            }
        }
        self.width = width
        self.height = height
        if channels == 4 {
            pixels = image
        } else {
            var rgba = [UInt8](repeating: 255, count: width * height * 4)
            for p in 0..<(width * height) {
                for k in 0..<3 { rgba[p * 4 + k] = image[p * 3 + k] }
            }
            pixels = rgba
        }
    }

    /// Pixels within `tolerance` of `hex` ("#1f77b4") on every channel, in the rectangle given (the whole image by default).
    public func count(_ hex: String, tolerance: Int = 12, in region: (x: Range<Int>, y: Range<Int>)? = nil) -> Int {
        let value = Int(hex.dropFirst(), radix: 16) ?? 0
        let (r, g, b) = ((value >> 16) & 255, (value >> 8) & 255, value & 255)
        let xs = region?.x ?? 0..<width, ys = region?.y ?? 0..<height
        var n = 0
        for y in ys.clamped(to: 0..<height) {
            for x in xs.clamped(to: 0..<width) {
                let p = (y * width + x) * 4
                if abs(Int(pixels[p]) - r) <= tolerance && abs(Int(pixels[p + 1]) - g) <= tolerance && abs(Int(pixels[p + 2]) - b) <= tolerance {
                    n += 1
                }
            }
        }
        return n
    }
}
