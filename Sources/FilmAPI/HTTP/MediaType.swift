/// Media-type checks on `Content-Type` values (RFC 9110 §8.3: case-insensitive, parameters allowed).
public enum MediaType {
    public static func isJSON(_ contentType: String) -> Bool {
        let essence = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingWhitespace() } ?? ""
        return essence.equalsIgnoringASCIICase("application/json")
    }
}
