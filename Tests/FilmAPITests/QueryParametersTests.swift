import Testing
@testable import FilmAPI

@Suite struct QueryParametersTests {
    @Test func splitsPairsSkipsEmptyItemsAndDecodes() {
        let query = QueryParameters("a=1&&b=2&c&=x&d=%41+b&é=ü=2&")
        #expect(query.pairs.map(\.name) == ["a", "b", "c", "", "d", "é"])
        #expect(query.pairs.map(\.value) == ["1", "2", "", "x", "A b", "ü=2"])
        #expect(QueryParameters("").pairs.isEmpty)
        #expect(QueryParameters("&&").pairs.isEmpty)
    }

    @Test func requestSplitsTargetAtTheFirstQuestionMark() {
        let request = Request(method: .GET, target: "/films?like=7?x&limit=2")
        #expect(request.path == "/films")
        #expect(request.query.values("like") == ["7?x"])
        #expect(request.query.values("limit") == ["2"])
        #expect(Request(method: .GET, target: "/films").query.pairs.isEmpty)
    }
}
