/// Writes compact JSON straight into bytes: the hot paths (films, problems, log lines) skip
/// Foundation's encoders, which cost more than the rest of a request.
public struct JSONWriter: ~Copyable {
    private var buffer: ByteBuffer
    private var needsComma = false

    public init(capacity: Int = 128) { buffer = ByteBuffer(capacity: capacity) }

    /// A copy of the document so far.
    public var bytes: [UInt8] { buffer.array }

    /// The document so far, without copying it.
    func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try buffer.withBytes(body)
    }

    public mutating func beginObject() { separate(); buffer.append(UInt8(ascii: "{")); needsComma = false }
    public mutating func endObject() { buffer.append(UInt8(ascii: "}")); needsComma = true }
    mutating func beginArray() { separate(); buffer.append(UInt8(ascii: "[")); needsComma = false }
    mutating func endArray() { buffer.append(UInt8(ascii: "]")); needsComma = true }

    /// Writes `"key":`; the value call that follows writes no comma.
    mutating func key(_ key: String) {
        separate()
        Self.appendString(key, to: &buffer)
        buffer.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes `"key":` for a key of filmd's own: a literal, so there is nothing to escape.
    /// All of `,"key":` in one go: a log line has seventeen keys.
    mutating func key(literal key: StaticString) {
        let comma = needsComma
        key.withUTF8Buffer { name in
            buffer.append(atMost: name.count + 4) { out in
                var at = 0
                if comma {
                    out[0] = UInt8(ascii: ",")
                    at = 1
                }
                out[at] = UInt8(ascii: "\"")
                if let start = name.baseAddress { (out + at + 1).update(from: start, count: name.count) }
                at += 1 + name.count
                out[at] = UInt8(ascii: "\"")
                out[at + 1] = UInt8(ascii: ":")
                return at + 2
            }
        }
        needsComma = false
    }

    mutating func string(_ value: String) { separate(); Self.appendString(value, to: &buffer); needsComma = true }
    mutating func int(_ value: Int64) {
        separate()
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        ASCIIText.digits(value.magnitude) { buffer.append($0) }
        needsComma = true
    }
    mutating func int(_ value: Int) { int(Int64(value)) }
    mutating func double(_ value: Double) {
        separate()
        buffer.append(value.isFinite ? "\(value)" : "null")
        needsComma = true
    }
    mutating func bool(_ value: Bool) { separate(); buffer.append(value ? "true" : "false"); needsComma = true }
    mutating func null() { separate(); buffer.append("null"); needsComma = true }
    /// A non-negative count of thousandths as a decimal with three places (`1234` → `1.234`),
    /// without formatting a Double.
    mutating func thousandths(_ value: Int) {
        separate()
        let value = max(0, value)
        ASCIIText.digits(UInt64(value / 1000)) { buffer.append($0) }
        let fraction = value % 1000
        buffer.append(UInt8(ascii: "."))
        buffer.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        buffer.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        buffer.append(UInt8(ascii: "0") + UInt8(fraction % 10))
        needsComma = true
    }
    /// Writes a value with `write`, which appends already-encoded JSON.
    mutating func raw(_ write: (inout ByteBuffer) -> Void) { separate(); write(&buffer); needsComma = true }
    /// Inserts already-encoded JSON.
    mutating func raw(_ json: [UInt8]) { separate(); buffer.append(json); needsComma = true }

    public mutating func field(_ name: String, _ value: String) { key(name); string(value) }
    mutating func field(_ name: String, _ value: Int64) { key(name); int(value) }
    mutating func field(_ name: String, _ value: Int) { key(name); int(value) }
    mutating func field(_ name: String, _ value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }
    mutating func field(literal name: StaticString, _ value: String) { key(literal: name); string(value) }
    mutating func field(literal name: StaticString, _ value: Int) { key(literal: name); int(value) }
    mutating func field(literal name: StaticString, _ value: Int64) { key(literal: name); int(value) }
    mutating func field(literal name: StaticString, _ value: String?) {
        key(literal: name)
        if let value { string(value) } else { null() }
    }

    private mutating func separate() {
        if needsComma { buffer.append(UInt8(ascii: ",")) }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A JSON string literal. Control characters, DEL and the C1 range are escaped as well, so
    /// that a value copied into a terminal or a log viewer cannot carry escape sequences.
    /// Works on the UTF-8 bytes, copying runs of plain bytes at once (this is on every log line).
    static func appendString(_ value: String, to bytes: inout ByteBuffer) {
        bytes.append(UInt8(ascii: "\""))
        // In place when the text is contiguous (native Strings are): no copy of it to scan.
        if value.utf8.withContiguousStorageIfAvailable({ appendEscaped($0, to: &bytes) }) == nil {
            Array(value.utf8).withUnsafeBufferPointer { appendEscaped($0, to: &bytes) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, to bytes: inout ByteBuffer) {
        var runStart = 0
        var index = 0
        let count = utf8.count
        while index < count {
            // Eight plain bytes at a time: nearly every byte of a log line or a film is one.
            if index + 8 <= count, !mayNeedEscape(UnsafeRawPointer(utf8.baseAddress! + index).loadUnaligned(as: UInt64.self)) {
                index += 8
                continue
            }
            let byte = utf8[index]
            // Printable ASCII but `"` and `\`: nearly every byte of a log line.
            if byte >= 0x20, byte < 0x7F, byte != 0x22, byte != 0x5C {
                index += 1
                continue
            }
            var escapeLength = 0  // bytes of input the escape replaces
            var scalar: UInt32 = 0
            if byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F {
                escapeLength = 1
                scalar = UInt32(byte)
            } else if byte == 0xC2, index + 1 < count, (0x80...0x9F).contains(utf8[index + 1]) {
                escapeLength = 2  // C1 controls
                scalar = UInt32(utf8[index + 1])
            } else if byte == 0xE2, index + 2 < count, utf8[index + 1] == 0x80, utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9 {
                escapeLength = 3  // U+2028, U+2029
                scalar = 0x2000 | UInt32(utf8[index + 2] - 0x80)
            }
            if escapeLength == 0 {
                index += 1
                continue
            }
            bytes.append(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            appendEscape(scalar, to: &bytes)
            index += escapeLength
            runStart = index
        }
        bytes.append(UnsafeBufferPointer(rebasing: utf8[runStart..<count]))
    }

    /// Whether any byte of `word` may need escaping: below 0x20, a quote, a backslash, or 0x7F and above
    /// (DEL and the start of every multi-byte character, C1 and U+2028/9 among them). Bit
    /// tricks on the eight bytes at once; a carry can only add a false alarm, which the byte
    /// loop then clears.
    @inline(__always)
    private static func mayNeedEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs = ones &* 0x80
        let control = (word &- ones &* 0x20) & ~word & highs
        let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
        let quotes = (quote &- ones) & ~quote & highs
        let backslashes = (backslash &- ones) & ~backslash & highs
        let delOrAbove = ((word &+ ones) | word) & highs
        return control | quotes | backslashes | delOrAbove != 0
    }

    private static func appendEscape(_ scalar: UInt32, to bytes: inout ByteBuffer) {
        switch scalar {
        case 0x22: bytes.append([0x5C, 0x22])
        case 0x5C: bytes.append([0x5C, 0x5C])
        case 0x0A: bytes.append([0x5C, UInt8(ascii: "n")])
        case 0x0D: bytes.append([0x5C, UInt8(ascii: "r")])
        case 0x09: bytes.append([0x5C, UInt8(ascii: "t")])
        default:
            let v = Int(scalar)
            bytes.append([0x5C, UInt8(ascii: "u"), hex[v >> 12 & 0xF], hex[v >> 8 & 0xF], hex[v >> 4 & 0xF], hex[v & 0xF]])
        }
    }
}
