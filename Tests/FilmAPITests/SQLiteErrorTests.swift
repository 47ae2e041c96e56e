import Foundation
import Testing
@testable import FilmAPI

/// Failures carry SQLite's extended result code, so that callers can tell a taken primary key
/// (a key id to draw again) from any other constraint, or a write error from a full disk.
@Suite struct SQLiteErrorTests {
    func failure(of sql: StaticString, on connection: SQLiteConnection) -> SQLiteError? {
        do {
            try connection.execute(sql)
            return nil
        } catch {
            return error
        }
    }

    @Test func aConstraintIsReportedByWhichOneFailed() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
        try connection.execute("INSERT INTO t VALUES ('a', 'x')")
        let taken = failure(of: "INSERT INTO t VALUES ('a', 'y')", on: connection)
        #expect(taken?.code == .constraintPrimaryKey && taken?.code.rawValue == 1555)
        #expect(taken?.code.primary == .constraint)
        #expect(failure(of: "INSERT INTO t VALUES ('b', 'x')", on: connection)?.code == .constraintUnique)
        #expect(failure(of: "INSERT INTO t VALUES ('c', NULL)", on: connection)?.code == .constraintNotNull)
        #expect(taken?.description.hasPrefix("SQLite error 1555: ") == true)
    }

    @Test func aFailedWriteIsAnIOErrorOfItsOwnKind() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("filmd-sqlite-error-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let database = try FilmDatabase(path: path, durability: .normal)
        do {
            _ = try BatchRollbackTests.spillOntoAFailingDisk(database)
            Issue.record("the spill onto a failing disk succeeded")
        } catch let error as SQLiteError {
            #expect(error.code.primary == .ioError)
            #expect(error.code != .ioError)  // the extended code says which I/O failed
        }
    }
}
