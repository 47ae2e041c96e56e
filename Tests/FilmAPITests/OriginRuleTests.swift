import Testing
@testable import FilmAPI

@Suite struct OriginRuleTests {
    @Test func exactOriginsAreNormalised() throws {
        let rule = try #require(OriginRule("HTTPS://App.Example.com:443"))
        #expect(rule.matches(try #require(Origin("https://app.example.com"))))
        #expect(!rule.matches(try #require(Origin("http://app.example.com"))))
        #expect(!rule.matches(try #require(Origin("https://app.example.com:8443"))))
    }

    @Test(arguments: ["https://api.example.com", "https://a.b.example.com"])
    func wildcardMatchesWholeLabels(origin: String) throws {
        #expect(try #require(OriginRule("https://*.example.com")).matches(try #require(Origin(origin))))
    }

    @Test(arguments: ["https://example.com", "https://evil-example.com", "https://example.com.evil.net",
                      "http://api.example.com", "https://api.example.com:444", "https://xexample.com"])
    func wildcardRejectsLookalikes(origin: String) throws {
        #expect(try !#require(OriginRule("https://*.example.com")).matches(try #require(Origin(origin))))
    }

    @Test(arguments: ["null", "example.com", "https://", "https://a.example.com/path", "https://user@a.example.com",
                      "ftp://a.example.com", "https://a.example.com:0", "https://a.example.com:99999"])
    func notOrigins(text: String) {
        #expect(Origin(text) == nil)
    }
}

@Suite struct JSONWriterTests {
    @Test func escapesControlCharactersAndC1() {
        var bytes: [UInt8] = []
        JSONWriter.appendString("a\"b\\c\n\u{1B}[31m\u{7F}\u{85}\u{2028}é", to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #""a\"b\\c\n\u001b[31m\u007f\u0085\u2028é""#)
    }

    @Test func writesNestedDocuments() {
        var json = JSONWriter()
        json.beginObject()
        json.field("a", 1)
        json.key("b")
        json.beginArray()
        json.string("x")
        json.null()
        json.endArray()
        json.field("c", nil as String?)
        json.endObject()
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"a":1,"b":["x",null],"c":null}"#)
    }
}
