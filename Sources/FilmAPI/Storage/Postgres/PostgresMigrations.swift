/// The PostgreSQL schema, versioned in `filmd_schema_versions`: each step runs once, in order,
/// in its own transaction, at start (the server's and every `filmd` command's). The steps mirror
/// SQLite's `Migrations`, with the types PostgreSQL users expect; times stay Unix seconds in
/// `bigint`, as SQLite stores them, so the Swift side reads both alike.
enum PostgresMigrations {
    /// Any number: every filmd takes this advisory lock before it looks at the version, so two
    /// nodes starting at once migrate one after the other (the second finds nothing to do).
    static let lockKey = "7044930182245100081"
    /// The channel the api_keys trigger notifies on (see `PostgresKeyRefresher`).
    static let keyChannel = "filmd_api_keys"

    static let steps: [String] = [
        // 1: the catalogue. An identity never hands a deleted film's id to another film.
        """
        CREATE TABLE films (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL,
            studio text NOT NULL,
            year integer,
            likes bigint NOT NULL DEFAULT 0,
            dislikes bigint NOT NULL DEFAULT 0
        );
        CREATE INDEX films_by_likes ON films (likes DESC, id);
        CREATE INDEX films_by_score ON films ((likes - dislikes) DESC, id);
        """,
        // 2: API keys, and a notification to every listening node when one is created, changed
        // or deleted (not when one is used: last_used_at is left out). NOTIFY is sent at commit.
        """
        CREATE TABLE api_keys (
            id text PRIMARY KEY,
            name text NOT NULL,
            role text NOT NULL,
            secret_hash bytea NOT NULL,
            created_at bigint NOT NULL,
            expires_at bigint,
            revoked_at bigint,
            last_used_at bigint
        );
        CREATE FUNCTION filmd_api_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('\(keyChannel)', ''); RETURN NULL; END $$;
        CREATE TRIGGER api_keys_changed AFTER INSERT OR DELETE OR TRUNCATE ON api_keys
            FOR EACH STATEMENT EXECUTE FUNCTION filmd_api_keys_changed();
        CREATE TRIGGER api_keys_updated AFTER UPDATE OF name, role, secret_hash, expires_at, revoked_at ON api_keys
            FOR EACH STATEMENT EXECUTE FUNCTION filmd_api_keys_changed();
        """,
    ]

    static var latest: Int { steps.count }

    /// Brings the database to `latest`; returns how many steps it applied (0: already there).
    @discardableResult
    static func migrate(_ db: PGBlockingConnection) throws -> Int {
        var applied = 0
        while try db.transaction({ () throws -> Bool in
            try db.execute("SELECT pg_advisory_xact_lock(\(lockKey))")
            try db.execute("""
                CREATE TABLE IF NOT EXISTS filmd_schema_versions (
                    version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                """)
            let version = Int(try db.execute("SELECT coalesce(max(version), 0) FROM filmd_schema_versions").int64(0, 0))
            guard version < latest else { return false }
            try db.executeScript(steps[version])
            try db.execute("INSERT INTO filmd_schema_versions (version) VALUES ($1)", [String(version + 1)])
            return true
        }) {
            applied += 1
        }
        return applied
    }
}
