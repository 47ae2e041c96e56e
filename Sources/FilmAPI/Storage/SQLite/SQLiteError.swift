internal import CSQLite

/// A failed SQLite call. Its message is for the operator's log only: problem details never
/// carry it (it can name tables, columns and paths).
struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// SQLite's extended result code: a taken primary key is `constraintPrimaryKey`, not only
    /// `constraint` (match the family with `code.primary`).
    let code: Code
    let message: String

    init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// From a result code SQLite returned (extended: every connection turns them on).
    init(resultCode: Int32, message: String) {
        self.init(code: Code(rawValue: resultCode), message: message)
    }

    var description: String { "SQLite error \(code.rawValue): \(message)" }

    /// A result code by its name in sqlite3.h, without the `SQLITE_` prefix.
    struct Code: RawRepresentable, Hashable, Sendable {
        let rawValue: Int32
        init(rawValue: Int32) { self.rawValue = rawValue }

        /// An extended code as sqlite3.h defines them: the primary code plus `detail << 8`.
        private init(_ primary: Int32, detail: Int32 = 0) { rawValue = primary | detail << 8 }

        /// The primary code, the low byte (`constraintPrimaryKey.primary == .constraint`).
        var primary: Code { Code(rawValue: rawValue & 0xFF) }

        static let error = Code(SQLITE_ERROR)
        static let busy = Code(SQLITE_BUSY)
        static let ioError = Code(SQLITE_IOERR)
        static let ioErrorWrite = Code(SQLITE_IOERR, detail: 3)
        static let full = Code(SQLITE_FULL)
        static let constraint = Code(SQLITE_CONSTRAINT)
        static let constraintNotNull = Code(SQLITE_CONSTRAINT, detail: 5)
        static let constraintPrimaryKey = Code(SQLITE_CONSTRAINT, detail: 6)
        static let constraintUnique = Code(SQLITE_CONSTRAINT, detail: 8)
        static let misuse = Code(SQLITE_MISUSE)
    }
}
