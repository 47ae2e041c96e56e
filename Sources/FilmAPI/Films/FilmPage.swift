/// The orders `GET /films` can list in; ties are always broken by ascending id.
enum FilmSort: String, Sendable, CaseIterable {
    /// Ascending id.
    case id
    /// Most liked first.
    case likes
    /// Highest likes − dislikes first.
    case score

    /// The value of `film` this order sorts on (descending for likes and score).
    func key(of film: Film) -> Int64 {
        switch self {
        case .id: film.id
        case .likes: film.likes
        case .score: film.likes - film.dislikes
        }
    }
}

/// One page to fetch: keyset pagination resumes strictly after `after`, never at an offset.
struct FilmPageRequest: Sendable, Equatable {
    var sort: FilmSort
    var limit: Int
    var after: FilmCursor?

    init(sort: FilmSort = .id, limit: Int = 20, after: FilmCursor? = nil) {
        self.sort = sort
        self.limit = limit
        self.after = after
    }

    static let limits = 1...100
}

/// The opaque `next_cursor`: the sort it belongs to and the (sort value, id) of the last film
/// of the page, base64url-encoded.
struct FilmCursor: Sendable, Equatable {
    var sort: FilmSort
    var value: Int64
    var id: Int64

    init(sort: FilmSort, value: Int64, id: Int64) {
        self.sort = sort
        self.value = value
        self.id = id
    }

    init(after film: Film, sort: FilmSort) {
        self.init(sort: sort, value: sort.key(of: film), id: film.id)
    }

    var token: String {
        Base64URL.encode(Array("v1:\(sort.rawValue):\(value):\(id)".utf8))
    }

    /// Parses a token; nil for anything that was not made by `token`.
    init?(token: String) {
        guard token.utf8.count <= 128, let bytes = Base64URL.decode(token),
              let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v1", let sort = FilmSort(rawValue: String(parts[1])),
              let value = Int64(parts[2]), let id = FilmID.parse(parts[3]) else { return nil }
        self.init(sort: sort, value: value, id: id)
    }
}

/// RFC 4648 §5 base64url without padding.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var n = 0
            for (offset, byte) in chunk.enumerated() { n |= Int(byte) << (16 - 8 * offset) }
            for position in 0...chunk.count { out.append(alphabet[(n >> (18 - 6 * position)) & 63]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var values: [Int] = []
        for byte in text.utf8 {
            guard let value = alphabet.firstIndex(of: byte) else { return nil }
            values.append(value)
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            var n = 0
            for (offset, value) in chunk.enumerated() { n |= value << (18 - 6 * offset) }
            for position in 0..<(chunk.count - 1) { out.append(UInt8((n >> (16 - 8 * position)) & 0xFF)) }
            index += 4
        }
        // Reject non-canonical encodings, so that one cursor has exactly one spelling.
        return encode(out) == text ? out : nil
    }
}
