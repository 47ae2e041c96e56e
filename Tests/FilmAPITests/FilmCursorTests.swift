import Testing
@testable import FilmAPI

@Suite struct FilmCursorTests {
    @Test(arguments: FilmSort.allCases)
    func roundTrips(sort: FilmSort) {
        let cursor = FilmCursor(sort: sort, value: -5, id: 123)
        #expect(FilmCursor(token: cursor.token) == cursor)
    }

    @Test(arguments: ["", "abc", "djE6aWQ6MjA6MjA=", "djE6aWQ6MjA6MjB", "djI6aWQ6MjA6MjA", "!!!!", String(repeating: "A", count: 200)])
    func rejectsForgedOrMangledTokens(token: String) {
        #expect(FilmCursor(token: token) == nil)
    }

    @Test func base64URLMatchesRFC4648() {
        #expect(Base64URL.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64URL.encode(Array("fo".utf8)) == "Zm8")
        #expect(Base64URL.decode("Zm8").map { String(decoding: $0, as: UTF8.self) } == "fo")
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
    }

    @Test func listQueryRejectsRepeatsAndRanges() {
        #expect(throws: Problem.self) { try FilmListQuery.page(from: QueryParameters("limit=0")) }
        #expect(throws: Problem.self) { try FilmListQuery.page(from: QueryParameters("limit=101")) }
        #expect(throws: Problem.self) { try FilmListQuery.page(from: QueryParameters("limit=%2B5")) }
        #expect(throws: Problem.self) { try FilmListQuery.page(from: QueryParameters("sort=id&sort=likes")) }
        #expect(throws: Problem.self) { try FilmListQuery.page(from: QueryParameters("sort=name")) }
        let idCursor = FilmCursor(sort: .id, value: 3, id: 3).token
        #expect(throws: Problem.self) { try FilmListQuery.page(from: QueryParameters("sort=likes&cursor=\(idCursor)")) }
        #expect((try? FilmListQuery.page(from: QueryParameters("")))?.limit == 20)
    }
}
