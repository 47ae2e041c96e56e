/// `--expires 90d`: a whole number of minutes (`m`), hours (`h`), days (`d`) or weeks (`w`),
/// at most ten years.
public enum KeyLifetime {
    static let units: [Character: Int64] = ["m": 60, "h": 3600, "d": 86400, "w": 7 * 86400]
    static let maximum: Int64 = 3650 * 86400

    /// The lifetime in seconds; nil when `text` is not one.
    public static func seconds(_ text: String) -> Int64? {
        guard let unit = text.last, let scale = units[unit],
              text.dropLast().allSatisfy({ $0.isASCII && $0.isNumber }), let count = Int64(text.dropLast()), count > 0,
              count <= maximum / scale else { return nil }
        return count * scale
    }
}
