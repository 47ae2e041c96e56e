/// Base62 (`0-9A-Za-z`): key ids and secrets that survive any copy, paste or double click,
/// and never contain the `_` that separates a key's parts.
enum Base62 {
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// `count` characters, each uniform over the alphabet (bytes of 248 and above are drawn
    /// again, so that `byte % 62` has no bias): 5.95 bits of entropy per character.
    static func random<Generator: RandomNumberGenerator>(count: Int, using generator: inout Generator) -> String {
        var characters: [UInt8] = []
        characters.reserveCapacity(count)
        while characters.count < count {
            var word = generator.next()
            for _ in 0..<8 where characters.count < count {
                let byte = UInt8(truncatingIfNeeded: word)
                word >>= 8
                if byte < 248 { characters.append(alphabet[Int(byte % 62)]) }
            }
        }
        return String(decoding: characters, as: UTF8.self)
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }
}
