import Foundation
import Logging
import Testing
@testable import FilmAPI

@Suite struct KeyDatabaseTests {
    let files = TemporaryDatabases("keys")
    var path: String { files.path }

    func keyDatabase() throws -> KeyDatabase {
        files.closing(try KeyDatabase(path: path, durability: .normal)) { $0.close() }
    }

    func refresher(directory: KeyDirectory, usage: KeyUsage) throws -> KeyRefresher {
        files.closing(try KeyRefresher(path: path, durability: .normal, directory: directory, usage: usage,
                                       logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))) { $0.close() }
    }

    @Test func issueListRevokeAndTheChangeCounter() throws {
        let database = try keyDatabase()
        let before = try database.version()
        let issued = try database.issue(name: "ci", role: .editor, lifetime: 3600, now: 1000)
        #expect(issued.key.id == issued.token.id && issued.key.expiresAt == 4600)
        #expect(issued.key.digest.matches(SecretDigest(secret: issued.token.secret)))
        #expect(try database.version() > before)
        let listed = try database.all()
        #expect(listed.unreadable == 0 && listed.keys.map(\.id) == [issued.key.id])
        #expect(!listed.keys[0].jsonLine().contains(issued.token.secret))
        #expect(issued.key.jsonLine(token: issued.token).contains(#""key":"\#(issued.token.text)""#))
        let afterIssue = try database.version()
        #expect(try database.revoke(id: issued.key.id, now: 2000)?.revokedAt == 2000)
        #expect(try database.revoke(id: issued.key.id, now: 3000)?.revokedAt == 2000)  // the first revocation stays
        #expect(try database.revoke(id: "nobody", now: 3000) == nil)
        #expect(try database.version() > afterIssue)
    }

    @Test func usesAreWrittenWithoutCountingAsAChange() throws {
        let database = try keyDatabase()
        let issued = try database.issue(name: "ci", role: .reader, lifetime: nil, now: 1000)
        let version = try database.version()
        try database.recordUses([issued.key.id: 1500])
        try database.recordUses([issued.key.id: 1200])  // never moves backwards
        #expect(try database.all().keys.first?.lastUsedAt == 1500)
        #expect(try database.version() == version)
    }

    @Test func theRefresherPicksUpChangesAndWritesUses() async throws {
        let cli = try keyDatabase()
        let first = try cli.issue(name: "a", role: .reader, lifetime: nil, now: 1000)
        let directory = KeyDirectory(), usage = KeyUsage()
        let refresher = try refresher(directory: directory, usage: usage)
        #expect(directory.key(id: first.key.id) != nil)
        let second = try cli.issue(name: "b", role: .admin, lifetime: nil, now: 1001)
        _ = try cli.revoke(id: first.key.id, now: 1002)
        usage.touch(second.key.id, now: 1003)
        await refresher.refresh()
        #expect(directory.key(id: second.key.id)?.role == .admin)
        #expect(directory.key(id: first.key.id)?.revokedAt == 1002)
        #expect(try cli.all().keys.first { $0.id == second.key.id }?.lastUsedAt == 1003)
    }

    /// stop() then close(): the polling task ends, the last uses are written, the refresher's
    /// thread ends and its connection closes.
    @Test func theRefresherStopsAndClosesLeavingNoThreadOrDescriptor() async throws {
        let cli = try keyDatabase()
        let issued = try cli.issue(name: "a", role: .reader, lifetime: nil, now: 1000)
        let usage = KeyUsage()
        let refresher = try refresher(directory: KeyDirectory(), usage: usage)
        await refresher.start(interval: .milliseconds(10))
        let thread = await refresher.threadID()
        usage.touch(issued.key.id, now: 1500)
        await refresher.stop()
        #expect(try cli.all().keys.first?.lastUsedAt == 1500)
        cli.close()
        #expect(files.openDescriptors > 0)
        refresher.close()
        #expect(threadEnds(thread))
        #expect(files.openDescriptors == 0)
    }
}

extension KeyRefresher {
    /// The thread the refresher runs on.
    func threadID() -> pid_t { currentThreadID() }
}
