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

@Suite struct HTTPHeadersTests {
    @Test func namesCompareIgnoringASCIICaseOnly() {
        #expect("Content-Type".equalsIgnoringASCIICase("content-TYPE"))
        #expect(!"Content-Type".equalsIgnoringASCIICase("Content-Typf"))
        #expect(!"a-b".equalsIgnoringASCIICase("a\u{0D}b"))  // `-` | 0x20 is CR: not a letter
        #expect(!"[".equalsIgnoringASCIICase("{"))  // differ by 0x20, but not letters
        #expect("X-Ü".equalsIgnoringASCIICase("x-Ü") && !"X-Ü".equalsIgnoringASCIICase("x-ü"))
        let long = String(repeating: "Abc", count: 20)
        #expect(long.equalsIgnoringASCIICase(long.lowercased()) && !long.equalsIgnoringASCIICase(long + "x"))
    }

    @Test func lookupFindsTheFirstFieldOfAName() {
        let headers = HTTPHeaders([("Vary", "Origin"), ("X-Api-Key", "one"), ("x-api-key", "two"), ("X-API-Ke", "no")])
        #expect(headers["X-API-Key"] == "one")
        #expect(headers.values("x-api-key") == ["one", "two"])
        #expect(headers["X-API-Keys"] == nil && headers["Origin"] == nil)
    }
}
