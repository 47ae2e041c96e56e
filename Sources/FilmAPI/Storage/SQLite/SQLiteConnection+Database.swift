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
