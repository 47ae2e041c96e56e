/// What a caller may do. Each role includes the ones below it.
public enum Role: String, Sendable, CaseIterable, Comparable, Codable {
    /// Read films.
    case reader
    /// Also like and dislike.
    case voter
    /// Also add and change films.
    case editor
    /// Also delete films.
    case admin

    private var rank: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}
