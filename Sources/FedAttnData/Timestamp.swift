/// Timestamps as click logs write them, read into microseconds since 1970-01-01T00:00:00Z:
/// whole or fractional seconds since then (`1709296205`, `1709296205.25`), or ISO-8601
/// (`2024-03-01T12:30:05Z`, with or without a fraction, with `Z`, an offset such as
/// `+02:00` or `-0530`, or none, which is read as UTC; a space may stand for the `T`).
enum Timestamp {
    /// The most seconds either side of 1970 kept (about 292,000 years: microseconds fit Int64).
    static let limitSeconds: Int64 = 9_000_000_000_000

    /// Microseconds since the epoch, or nil when `text` is neither form.
    static func microseconds(_ text: Substring) -> Int64? {
        let bytes = Array(text.utf8)
        if let seconds = epochSeconds(bytes) { return seconds }
        return iso8601(bytes)
    }

    /// `[-]digits[.digits]`.
    private static func epochSeconds(_ b: [UInt8]) -> Int64? {
        var i = 0
        let negative = b.first == UInt8(ascii: "-")
        if negative { i = 1 }
        guard let (whole, next) = digits(b, from: i, atMost: 13), whole <= limitSeconds else { return nil }
        i = next
        var micros: Int64 = 0
        if i < b.count {
            guard b[i] == UInt8(ascii: "."), let (fraction, end) = fractionMicros(b, from: i + 1), end == b.count else { return nil }
            micros = fraction
            i = end
        }
        let value = whole * 1_000_000 + micros
        return negative ? -value : value
    }

    /// `YYYY-MM-DD[T ]hh:mm[:ss[.f…]][Z|±hh[:]mm]`.
    private static func iso8601(_ b: [UInt8]) -> Int64? {
        // Exactly `count` digits at `at` (what follows may be anything).
        func fixed(_ at: Int, _ count: Int) -> Int64? {
            guard at + count <= b.count else { return nil }
            var value: Int64 = 0
            for byte in b[at..<(at + count)] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func byte(_ at: Int, _ allowed: String) -> Bool { at < b.count && allowed.utf8.contains(b[at]) }
        guard let year = fixed(0, 4), byte(4, "-"), let month = fixed(5, 2), byte(7, "-"), let day = fixed(8, 2),
            byte(10, "Tt "), let hour = fixed(11, 2), byte(13, ":"), let minute = fixed(14, 2)
        else { return nil }
        var i = 16
        var second: Int64 = 0, micros: Int64 = 0
        if byte(i, ":") {
            guard let s = fixed(i + 1, 2) else { return nil }
            second = s
            i += 3
            if byte(i, ".,") {
                guard let (fraction, end) = fractionMicros(b, from: i + 1) else { return nil }
                micros = fraction
                i = end
            }
        }
        var offsetSeconds: Int64 = 0
        if byte(i, "Zz") {
            i += 1
        } else if byte(i, "+-") {
            let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
            guard let hours = fixed(i + 1, 2) else { return nil }
            i += 3
            if byte(i, ":") { i += 1 }
            guard let minutes = fixed(i, 2), hours <= 23, minutes <= 59 else { return nil }
            i += 2
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        }
        guard i == b.count, (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour <= 23, minute <= 59,
            second <= 60
        else { return nil }
        let seconds = daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * 1_000_000 + micros
    }

    /// Up to `atMost` decimal digits from `start` (at least one): their value and where they end.
    private static func digits(_ b: [UInt8], from start: Int, atMost: Int) -> (Int64, Int)? {
        var value: Int64 = 0, i = start
        while i < b.count, i - start < atMost, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) {
            value = value * 10 + Int64(b[i] - UInt8(ascii: "0"))
            i += 1
        }
        guard i > start, i == b.count || !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) else { return nil }
        return (value, i)
    }

    /// A fraction's digits as microseconds (digits past the sixth are dropped): value and end.
    private static func fractionMicros(_ b: [UInt8], from start: Int) -> (Int64, Int)? {
        var value: Int64 = 0, scale: Int64 = 100_000, i = start
        while i < b.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) {
            value += Int64(b[i] - UInt8(ascii: "0")) * scale
            scale /= 10
            i += 1
        }
        return i > start ? (value, i) : nil
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Microseconds written back as seconds: `1709296205`, or `1709296205.25` with a fraction.
    static func text(microseconds: Int64) -> String {
        let (seconds, fraction) = microseconds.quotientAndRemainder(dividingBy: 1_000_000)
        guard fraction != 0 else { return "\(seconds)" }
        let negative = microseconds < 0
        var digits = String(abs(fraction) + 1_000_000).dropFirst()
        while digits.last == "0" { digits.removeLast() }
        return (negative && seconds == 0 ? "-0" : "\(seconds)") + "." + digits
    }
}
