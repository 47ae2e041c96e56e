/// Media-type checks on `Content-Type` values (RFC 9110 §8.3: case-insensitive, parameters allowed).
enum MediaType {
    static func isJSON(_ contentType: String) -> Bool {
        // Up to the first `;`, found on the UTF-8 view: splitting by Character stepped through
        // grapheme breaks for every body a client sends.
        let end = contentType.utf8.firstIndex(of: UInt8(ascii: ";")) ?? contentType.endIndex
        return contentType[..<end].trimmingWhitespace().equalsIgnoringASCIICase("application/json")
    }
}
