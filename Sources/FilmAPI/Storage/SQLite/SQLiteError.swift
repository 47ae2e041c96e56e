/// A failed SQLite call. Its message is for the operator's log only: problem details never
/// carry it (it can name tables, columns and paths).
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The primary result code (`SQLITE_BUSY` = 5, `SQLITE_CONSTRAINT` = 19, ...).
    public let code: Int32
    public let message: String

    public var description: String { "SQLite error \(code): \(message)" }
}
