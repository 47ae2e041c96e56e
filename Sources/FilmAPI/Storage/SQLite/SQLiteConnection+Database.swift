extension SQLiteConnection {
    /// Opens filmd's database file: WAL, the durability asked for, a busy timeout so that the
    /// command-line tools and the server can share it, and the schema migrated.
    static func database(path: String, durability: Durability) throws(SQLiteError) -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path)
        connection.setBusyTimeout(milliseconds: busyTimeoutMilliseconds)
        // Takes effect only when the file is new (before WAL, which fixes it). A like rewrites
        // three pages (the row, the likes and score indexes) and every written page goes to the
        // WAL whole: 1 KiB pages instead of 4 KiB made likes ~35 % faster, reads no slower.
        try connection.execute("PRAGMA page_size = 1024")
        try connection.execute("PRAGMA journal_mode = WAL")
        switch durability {
        case .normal: try connection.execute("PRAGMA synchronous = NORMAL")
        case .full: try connection.execute("PRAGMA synchronous = FULL")
        }
        try connection.execute("PRAGMA foreign_keys = ON")
        try Migrations.migrate(connection)
        return connection
    }

    /// Runs each of `writes` in one write transaction and commits them; their own results
    /// stand only if this returns. A write's own error normally undoes that statement alone,
    /// but after some (an I/O error, no memory, an interrupt) SQLite rolls the whole
    /// transaction back by itself: the writes before it are undone as well, and the writes
    /// after it would each commit on their own, outside any transaction. Those are not run,
    /// and this throws, so that none of the batch is acknowledged and all of it is as before.
    func batch<Write>(_ writes: [Write], _ run: (Write) -> Void) throws(SQLiteError) {
        try execute("BEGIN IMMEDIATE")
        for write in writes {
            run(write)
            guard isInTransaction else { throw rolledBack() }
        }
        do {
            try execute("COMMIT")
        } catch {
            if isInTransaction {
                do {
                    try execute("ROLLBACK")
                } catch {
                    // The COMMIT's error is the one to report. Left open, the transaction
                    // makes the next BEGIN fail: nothing is ever committed on top of it.
                }
            }
            throw error
        }
    }

    /// The error of a transaction SQLite rolled back by itself, with the failure that made it.
    private func rolledBack() -> SQLiteError {
        let cause = lastError
        return SQLiteError(code: cause.code, message: "transaction rolled back by SQLite: \(cause.message)")
    }

    /// Runs `body` in one write transaction: all of it is committed, or none.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")  // rethrowing the original error matters more
            throw error
        }
    }
}
