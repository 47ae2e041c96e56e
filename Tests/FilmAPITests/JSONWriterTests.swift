import Testing
@testable import FilmAPI

@Suite struct JSONWriterTests {
    @Test func escapesControlCharactersAndC1() {
        var json = JSONWriter(capacity: 1)  // grows as it goes
        json.string("a\"b\\c\n\u{1B}[31m\u{7F}\u{85}\u{2028}é")
        #expect(String(decoding: json.bytes, as: UTF8.self) == #""a\"b\\c\n\u001b[31m\u007f\u0085\u2028é""#)
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

    @Test func writesLiteralKeysAndThousandths() {
        var json = JSONWriter()
        json.beginObject()
        json.field(literal: "a.b", "x")
        json.key(literal: "ms")
        json.thousandths(1234)
        json.key(literal: "small")
        json.thousandths(7)
        json.key(literal: "whole")
        json.thousandths(2000)
        json.field(literal: "none", nil as String?)
        json.endObject()
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"a.b":"x","ms":1.234,"small":0.007,"whole":2.000,"none":null}"#)
    }
}
