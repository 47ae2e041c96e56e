import Testing
@testable import FilmAPI

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

    @Test func aBlockIsLookedUpIteratedAndSpreadWhenChanged() {
        let block = HeaderBlock([("X-A", "1"), ("Bad Name", "x"), ("X-B", "line\r\nSet-Cookie: x=1"), ("Content-Length", "9"), ("X-C", "3")])
        #expect(block.fields.map(\.name) == ["X-A", "X-C"])
        #expect(String(decoding: block.wire, as: UTF8.self) == "\r\nX-A: 1\r\nX-C: 3")
        var headers = HTTPHeaders([("Vary", "Origin")])
        headers.add(block)
        headers.add("X-D", "4")
        #expect(headers["x-c"] == "3" && headers.contains("X-A"))
        #expect(headers.map(\.name) == ["Vary", "X-D", "X-A", "X-C"])
        headers.set("X-A", "changed")
        #expect(headers.block == nil)
        #expect(headers.map { "\($0.name)=\($0.value)" } == ["Vary=Origin", "X-D=4", "X-C=3", "X-A=changed"])
    }
}
