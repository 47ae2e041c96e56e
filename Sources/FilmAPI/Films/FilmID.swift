/// A film id as it appears in a URL or a query: 1 to 18 ASCII digits, nothing else. (The
/// tutorial's `isdigit()` accepted "²" and then crashed on `int()`.)
enum FilmID {
    static func parse(_ text: some StringProtocol) -> Int64? {
        let bytes = text.utf8
        guard (1...18).contains(bytes.count) else { return nil }
        var value: Int64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Parses or throws the 400 problem naming `field`.
    static func require(_ text: some StringProtocol, field: String) throws(Problem) -> Int64 {
        guard let id = parse(text) else {
            throw Problem.badRequest("\(field) must be a film id: 1 to 18 ASCII digits.",
                                     errors: [.init(field: field, reason: "must be 1 to 18 ASCII digits")])
        }
        return id
    }
}
