internal import CSQLite

/// One SQLite connection. Not thread-safe: owned by one actor (or one command) at a time.
final class SQLiteConnection {
    private let handle: OpaquePointer
    /// Set by `close()`: the statements are finalized and the handle gone.
    private(set) var isClosed = false

    /// Runs once, before the first connection opens (see `filmd_sqlite_configure`).
    private static let configured: Void = { _ = filmd_sqlite_configure() }()

    init(path: String) throws(SQLiteError) {
        Self.configured
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(db)
            throw SQLiteError(resultCode: rc, message: message)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// Finalizes every statement prepared on the connection and closes it now, rather than when
    /// the last statement goes (sqlite3_close_v2 waits for those): its file descriptors are
    /// released here. A statement used afterwards stops the process.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        while let statement = sqlite3_next_stmt(handle, nil) { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Runs fixed SQL (schema, pragmas, transaction control). Never called with input in it.
    func execute(_ sql: StaticString) throws(SQLiteError) {
        precondition(!isClosed, "a closed connection")
        let rc = sql.withUTF8Buffer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { sqlite3_exec(handle, $0.baseAddress, nil, nil, nil) }
        }
        try check(rc)
    }

    func prepare(_ sql: StaticString) throws(SQLiteError) -> SQLiteStatement {
        precondition(!isClosed, "a closed connection")
        var statement: OpaquePointer?
        let rc = sql.withUTF8Buffer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                sqlite3_prepare_v3(handle, $0.baseAddress, Int32($0.count), UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
            }
        }
        try check(rc)
        guard let statement else { throw SQLiteError(code: .misuse, message: "empty statement") }
        return SQLiteStatement(handle: statement, connection: self)
    }

    /// The rows this connection's statements have stepped through in full table scans since they
    /// were prepared (SQLITE_STMTSTATUS_FULLSCAN_STEP): 0 while every query found its rows by an index.
    var fullScanSteps: Int64 {
        var total: Int64 = 0
        var statement = sqlite3_next_stmt(handle, nil)
        while let current = statement {
            total += Int64(sqlite3_stmt_status(current, Int32(SQLITE_STMTSTATUS_FULLSCAN_STEP), 0))
            statement = sqlite3_next_stmt(handle, current)
        }
        return total
    }

    /// Reads one integer pragma or scalar query.
    func scalar(_ sql: StaticString) throws(SQLiteError) -> Int64 {
        let statement = try prepare(sql)
        guard try statement.step() else { return 0 }
        return statement.int64(0)
    }

    enum CheckpointMode {
        /// Copies what it can without waiting for anyone.
        case passive
        /// Copies everything, then waits for readers to leave the WAL so the next write starts it over.
        case restart
    }

    /// Runs a checkpoint; returns the frames in the WAL and how many of them are now in the
    /// database file.
    @discardableResult
    func checkpoint(_ mode: CheckpointMode) throws(SQLiteError) -> (frames: Int32, copied: Int32) {
        precondition(!isClosed, "a closed connection")
        var frames: Int32 = 0, copied: Int32 = 0
        try check(sqlite3_wal_checkpoint_v2(handle, nil, mode == .passive ? SQLITE_CHECKPOINT_PASSIVE : SQLITE_CHECKPOINT_RESTART,
                                            &frames, &copied))
        return (frames, copied)
    }

    var changes: Int { Int(sqlite3_changes(handle)) }

    /// False once a transaction has ended, including when SQLite rolled it back by itself
    /// (an I/O error, a full disk, no memory): statements run after that commit on their own.
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// How a write fails in `failWALWrites`: ENOSPC (SQLITE_FULL) or EIO (SQLITE_IOERR_WRITE).
    enum WriteFailure { case diskFull, ioError }

    /// Tests only: the next `successes` writes to this connection's open WAL file reach it
    /// (all, when negative) and every later one fails, as a full or failing disk would (see
    /// wal_faults.c). Returns the writes failed so far, -1 without a WAL file.
    @discardableResult
    func failWALWrites(after successes: Int32, as failure: WriteFailure = .diskFull) -> Int32 {
        filmd_sqlite_test_fail_wal_writes(handle, successes, (failure == .diskFull ? SQLiteError.Code.full : .ioErrorWrite).rawValue)
    }

    func setBusyTimeout(milliseconds: Int32) { sqlite3_busy_timeout(handle, milliseconds) }

    /// How long a connection waits for a lock another one holds (the CLI commands and the
    /// server share the file).
    static let busyTimeoutMilliseconds: Int32 = 5000

    /// Copies the whole database to `path` with the online backup API: a consistent snapshot
    /// while others keep writing.
    func backup(to path: String) throws(SQLiteError) {
        let destination = try SQLiteConnection(path: path)
        guard let backup = sqlite3_backup_init(destination.handle, "main", handle, "main") else {
            throw SQLiteError(resultCode: sqlite3_extended_errcode(destination.handle), message: String(cString: sqlite3_errmsg(destination.handle)))
        }
        let rc = sqlite3_backup_step(backup, -1)
        sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE else { throw SQLiteError(resultCode: rc, message: String(cString: sqlite3_errstr(rc))) }
    }

    /// The connection's most recent failure, as SQLite reports it.
    var lastError: SQLiteError {
        SQLiteError(resultCode: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
    }

    func check(_ rc: Int32) throws(SQLiteError) {
        guard rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE else {
            throw SQLiteError(resultCode: rc, message: String(cString: sqlite3_errmsg(handle)))
        }
    }
}
