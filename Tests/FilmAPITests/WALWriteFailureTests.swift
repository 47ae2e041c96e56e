import Foundation
import Testing
@testable import FilmAPI

/// filmd's VFS gathers a transaction's WAL writes (wal_writes.c). Whichever real write fails,
/// SQLite must hear of it before the commit counts: a COMMIT that succeeded is whole in the
/// files as a crash leaves them, one that failed is absent, and the connection knows which.
@Suite struct WALWriteFailureTests {
    let files = TemporaryDatabases("wal")
    var directory: URL { URL(fileURLWithPath: files.directory) }

    static let rows: Int64 = 120

    /// A connection whose transactions spill pages to the WAL before they commit.
    func connection(_ name: String) throws -> SQLiteConnection {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let connection = try SQLiteConnection(path: directory.appendingPathComponent(name).path)
        try connection.execute("PRAGMA page_size = 1024")
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute("PRAGMA synchronous = NORMAL")
        try connection.execute("PRAGMA cache_size = 10")
        try connection.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, y BLOB)")
        return connection
    }

    /// The database as a crash would leave it: the file and its WAL, without the shared index,
    /// so that SQLite recovers the WAL and keeps only frames that are in it and check out.
    func rowsAfterACrash(_ name: String) throws -> Int64 {
        let source = directory.appendingPathComponent(name).path
        let copy = directory.appendingPathComponent("crashed-" + name).path
        try FileManager.default.copyItem(atPath: source, toPath: copy)
        try FileManager.default.copyItem(atPath: source + "-wal", toPath: copy + "-wal")
        let recovered = try SQLiteConnection(path: copy)
        let check = try recovered.prepare("PRAGMA integrity_check")
        #expect(try check.step() && check.text(0) == "ok")
        return try recovered.scalar("SELECT count(*) FROM t")
    }

    /// The transaction spills its pages to the WAL, then changes some of them again: at its
    /// COMMIT SQLite appends the last frames, rewrites the checksums of the frames it changed
    /// in place (the commit frame's header last) and only then publishes the commit. The
    /// disk fails at every one of those writes in turn.
    @Test func aCommitSucceedsOnlyWhenEveryOneOfItsWALWritesReachedTheFile() throws {
        var outcomes: [String] = []
        for successes in Int32(0)..<2_000 {
            let name = "films-\(successes).db"
            let connection = try connection(name)
            try connection.execute("BEGIN IMMEDIATE")
            try connection.execute("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)
                INSERT INTO t SELECT i, randomblob(900) FROM n
                """)
            try connection.execute("UPDATE t SET y = randomblob(900) WHERE x <= 10")
            connection.failWALWrites(after: successes)
            var committed = true
            do {
                try connection.execute("COMMIT")
            } catch {
                committed = false
            }
            let failures = connection.failWALWrites(after: -1)
            if connection.isInTransaction { try connection.execute("ROLLBACK") }
            let expected = committed ? Self.rows : 0
            #expect(try connection.scalar("SELECT count(*) FROM t") == expected, "the connection after write \(successes) failed")
            let recovered = try rowsAfterACrash(name)
            #expect(recovered == expected, "write \(successes) failed, COMMIT \(committed ? "succeeded" : "failed"), \(recovered) rows after a crash")
            outcomes.append(committed ? "ok" : "failed")
            if failures == 0 {  // the COMMIT needed fewer writes: every one of them has failed once
                #expect(committed)
                break
            }
        }
        #expect(outcomes.count > 3 && outcomes.last == "ok" && outcomes.dropLast().allSatisfy { $0 == "failed" }, "\(outcomes)")
        try FileManager.default.removeItem(at: directory)
    }
}
