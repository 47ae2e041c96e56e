/// The schema, versioned by `PRAGMA user_version`: each step runs once, in order, in its own
/// transaction, at start.
enum Migrations {
    static let latest: Int64 = 3

    static func migrate(_ db: SQLiteConnection) throws(SQLiteError) {
        var version = try db.scalar("PRAGMA user_version")
        while version < latest {
            try db.execute("BEGIN IMMEDIATE")
            do {
                try apply(version + 1, to: db)
                version += 1
            } catch {
                try? db.execute("ROLLBACK")  // the error being thrown is the one worth reporting
                throw error
            }
            try db.execute("COMMIT")
        }
    }

    private static func apply(_ version: Int64, to db: SQLiteConnection) throws(SQLiteError) {
        switch version {
        case 1:
            // AUTOINCREMENT: a deleted film's id is never handed to another film.
            try db.execute("""
                CREATE TABLE films (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    studio TEXT NOT NULL,
                    year INTEGER,
                    likes INTEGER NOT NULL DEFAULT 0,
                    dislikes INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX films_by_likes ON films (likes DESC, id);
                CREATE INDEX films_by_score ON films ((likes - dislikes) DESC, id);
                PRAGMA user_version = 1;
                """)
        case 2:
            try db.execute("""
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL,
                    secret_hash BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER,
                    revoked_at INTEGER,
                    last_used_at INTEGER
                );
                PRAGMA user_version = 2;
                """)
        case 3:
            // A counter the server polls to reload keys only when they changed; last_used_at
            // updates do not count.
            try db.execute("""
                CREATE TABLE api_key_changes (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
                INSERT INTO api_key_changes (id, version) VALUES (1, 0);
                CREATE TRIGGER api_keys_inserted AFTER INSERT ON api_keys
                    BEGIN UPDATE api_key_changes SET version = version + 1; END;
                CREATE TRIGGER api_keys_updated AFTER UPDATE OF name, role, secret_hash, expires_at, revoked_at ON api_keys
                    BEGIN UPDATE api_key_changes SET version = version + 1; END;
                CREATE TRIGGER api_keys_deleted AFTER DELETE ON api_keys
                    BEGIN UPDATE api_key_changes SET version = version + 1; END;
                PRAGMA user_version = 3;
                """)
        default:
            break
        }
    }
}
