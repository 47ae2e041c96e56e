internal import CLibPQ

/// A failed libpq call or statement. `sqlState` is PostgreSQL's five-character code (nil when
/// the connection failed before the server said anything). The message is for the operator's
/// log only: problem details never carry it, and it never holds the password (libpq does not
/// echo it).
struct PGError: Error, CustomStringConvertible, Sendable {
    let sqlState: String?
    let message: String

    init(sqlState: String? = nil, message: String) {
        self.sqlState = sqlState
        self.message = message
    }

    /// From a result whose status is an error.
    init(result: OpaquePointer) {
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }  // PG_DIAG_SQLSTATE
        self.init(sqlState: state, message: String(cString: PQresultErrorMessage(result)).trimmedLine)
    }

    /// From the connection's last error (connecting, sending, reading).
    init(connection: OpaquePointer) {
        self.init(message: String(cString: PQerrorMessage(connection)).trimmedLine)
    }

    var description: String { sqlState.map { "PostgreSQL error \($0): \(message)" } ?? "PostgreSQL: \(message)" }

    /// A key or unique constraint refused the row (a taken key id).
    var isUniqueViolation: Bool { sqlState == "23505" }
}

private extension String {
    /// libpq ends its messages with a newline, and multi-line ones go in one log field.
    var trimmedLine: String {
        split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
