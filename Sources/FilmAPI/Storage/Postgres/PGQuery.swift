/// What callers hand a `PGLoopConnection`, and the error it answers with when it is down.

/// A statement every connection prepares when it connects.
struct PGStatement: Sendable {
    let name: String
    let sql: String

    init(_ name: String, _ sql: String) {
        self.name = name
        self.sql = sql
    }
}

/// One run of a prepared statement with text parameters (nil: NULL).
struct PGQuery: Sendable {
    let statement: String
    let parameters: [String?]

    init(_ statement: PGStatement, _ parameters: [String?] = []) {
        self.statement = statement.name
        self.parameters = parameters
    }
}

/// The connection was down or broke. `sent`: the Sync of the query's segment had gone out, so
/// whether its transaction committed is unknown.
struct PGConnectionLost: Error, CustomStringConvertible {
    let sent: Bool
    let reason: String

    var description: String { "PostgreSQL connection lost (\(sent ? "outcome unknown" : "not sent")): \(reason)" }
}
