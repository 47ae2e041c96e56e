import Foundation
@testable import FilmAPI

/// One test's SQLite files, in a directory of their own, and what the test opened on them:
/// when the test's suite instance goes, each store, reader and refresher is closed (its thread
/// ended, its connections shut) and the directory removed, so no test leaves either behind.
final class TemporaryDatabases: @unchecked Sendable {
    let directory: String
    /// The main database of the test.
    let path: String
    private let closers = Locked<[() -> Void]>([])

    init(_ name: String) {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("filmd-\(name)-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        path = directory + "/films.db"
    }

    deinit {
        for close in closers.withLock({ $0.reversed() }) { close() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Another file in the directory.
    func file(_ name: String) -> String { directory + "/" + name }

    /// Closes `value` with `close` at the end of the test (unless the test did already: each
    /// `close()` here may be called twice).
    @discardableResult
    func closing<T>(_ value: T, _ close: @escaping (T) -> Void) -> T {
        nonisolated(unsafe) let value = value
        closers.withLock { $0.append { close(value) } }
        return value
    }

    func store(at path: String? = nil) throws -> SQLiteFilmStore {
        closing(try SQLiteFilmStore(path: path ?? self.path, durability: .normal)) { $0.close() }
    }

    /// A reader on the same file, as an event loop has.
    func reader() throws -> SQLiteFilmReader {
        closing(try SQLiteFilmReader(path: path)) { $0.close() }
    }

    func connection(_ path: String? = nil) throws -> SQLiteConnection {
        closing(try SQLiteConnection(path: path ?? self.path)) { $0.close() }
    }

    func catalogue(_ path: String? = nil, durability: Durability = .normal) throws -> CatalogueFile {
        closing(try CatalogueFile(path: path ?? self.path, durability: durability)) { $0.close() }
    }

    /// The descriptors this process has open on files of the directory.
    var openDescriptors: Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0))?.hasPrefix(directory) == true }.count
    }
}
