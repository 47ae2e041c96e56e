/// The decoded `name=value` pairs of a query string (`application/x-www-form-urlencoded` rules).
struct QueryParameters: Sendable {
    let pairs: [(name: String, value: String)]

    /// Splits on the UTF-8 bytes (`&` and `=` are ASCII): splitting on Characters cost more
    /// than the rest of a vote's request.
    init(_ query: String) {
        var pairs: [(name: String, value: String)] = []
        let utf8 = query.utf8
        var start = utf8.startIndex
        while start != utf8.endIndex {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: "&")) ?? utf8.endIndex
            if start != end {  // empty items (`a=1&&b=2`) are skipped
                let item = query[start..<end]
                if let eq = item.utf8.firstIndex(of: UInt8(ascii: "=")) {
                    pairs.append((Self.decode(item[..<eq]), Self.decode(item[item.utf8.index(after: eq)...])))
                } else {
                    pairs.append((Self.decode(item), ""))
                }
            }
            start = end == utf8.endIndex ? end : utf8.index(after: end)
        }
        self.pairs = pairs
    }

    /// Every value given for `name`, in order.
    func values(_ name: String) -> [String] {
        pairs.filter { $0.name == name }.map(\.value)
    }

    /// Percent-decodes and turns `+` into a space; malformed escapes and invalid UTF-8 are kept
    /// as replacement characters, which no validator accepts.
    static func decode(_ text: Substring) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else {
            return String(text)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])
                    continue
                }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
