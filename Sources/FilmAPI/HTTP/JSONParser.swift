/// A strict RFC 8259 parser into `JSONValue`. Foundation's decoder accepts trailing commas
/// and other JSON5 leniencies, and a request that is not JSON must be refused as such.
/// Depth is capped so that `[[[[…` cannot exhaust the stack.
struct JSONParser {
    struct Invalid: Error {}

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0
    static let maxDepth = 64

    static func parse(_ bytes: [UInt8]) throws(Invalid) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw Invalid() }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func expect(_ literal: StaticString) throws(Invalid) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Invalid() }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] { throw Invalid() }
        index += count
    }

    private mutating func value() throws(Invalid) -> JSONValue {
        switch current {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case .some(let byte) where byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte):
            return try number()
        default: throw Invalid()
        }
    }

    private mutating func nest() throws(Invalid) {
        depth += 1
        guard depth <= Self.maxDepth else { throw Invalid() }
    }

    private mutating func object() throws(Invalid) -> JSONValue {
        try nest()
        index += 1
        var members: [String: JSONValue] = [:]
        members.reserveCapacity(4)  // a film's fields without regrowing (and rehashing) twice
        skipWhitespace()
        if current == UInt8(ascii: "}") { index += 1; depth -= 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw Invalid() }
            let key = try string()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw Invalid() }
            index += 1
            skipWhitespace()
            guard members.updateValue(try value(), forKey: key) == nil else { throw Invalid() }  // duplicate keys are ambiguous
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; depth -= 1; return .object(members)
            default: throw Invalid()
            }
        }
    }

    private mutating func array() throws(Invalid) -> JSONValue {
        try nest()
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { index += 1; depth -= 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try value())
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; depth -= 1; return .array(elements)
            default: throw Invalid()
            }
        }
    }

    private mutating func string() throws(Invalid) -> String {
        index += 1
        var scalars = String.UnicodeScalarView()
        let start = index
        // Fast path: no escapes.
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 { index += 1 }
        if current == UInt8(ascii: "\"") {
            guard let text = text(start..<index) else { throw Invalid() }
            index += 1
            return text
        }
        guard let prefix = text(start..<index) else { throw Invalid() }
        scalars.append(contentsOf: prefix.unicodeScalars)
        var run = index
        while true {
            guard let byte = current, byte >= 0x20 else { throw Invalid() }
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                guard let text = text(run..<index) else { throw Invalid() }
                scalars.append(contentsOf: text.unicodeScalars)
                index += 1
                if byte == UInt8(ascii: "\"") { return String(scalars) }
                scalars.append(try escape())
                run = index
            } else {
                index += 1
            }
        }
    }

    /// The bytes of `range` as text, nil unless valid UTF-8. From a buffer: on an ArraySlice,
    /// `String(validating:)` took the generic path, several times slower.
    private func text(_ range: Range<Int>) -> String? {
        bytes.withUnsafeBufferPointer { String(validating: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    private mutating func escape() throws(Invalid) -> Unicode.Scalar {
        guard let byte = current else { throw Invalid() }
        index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try hex4()
            if (0xD800..<0xDC00).contains(unit) {
                guard current == UInt8(ascii: "\\") else { throw Invalid() }
                index += 1
                guard current == UInt8(ascii: "u") else { throw Invalid() }
                index += 1
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low),
                      let scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)) else { throw Invalid() }
                return scalar
            }
            guard let scalar = Unicode.Scalar(unit) else { throw Invalid() }  // a lone low surrogate
            return scalar
        default: throw Invalid()
        }
    }

    private mutating func hex4() throws(Invalid) -> UInt32 {
        guard index + 4 <= bytes.count else { throw Invalid() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Invalid()
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private mutating func number() throws(Invalid) -> JSONValue {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw Invalid() }
        if first == UInt8(ascii: "0") { index += 1 } else { digits() }
        var integral = true
        if current == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard digits() > 0 else { throw Invalid() }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            integral = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw Invalid() }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if integral, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text), value.isFinite else { throw Invalid() }
        return .number(value)
    }

    @discardableResult
    private mutating func digits() -> Int {
        let start = index
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        return index - start
    }
}
