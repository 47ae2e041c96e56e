import Testing
@testable import FilmAPI

@Suite struct JSONWriterTests {
    @Test func escapesControlCharactersAndC1() {
        var json = JSONWriter(capacity: 1)  // grows as it goes
        json.string("a\"b\\c\n\u{1B}[31m\u{7F}\u{85}\u{2028}é")
        #expect(String(decoding: json.bytes, as: UTF8.self) == #""a\"b\\c\n\u001b[31m\u007f\u0085\u2028é""#)
    }

    @Test func writesAnyValueWithKeysSorted() {
        let value = JSONValue.object(["b": .array([.integer(-1), .number(0.5), .null, .bool(true)]), "a": .string(#"q"\"#), "c": .object([:])])
        #expect(value.text == #"{"a":"q\"\\","b":[-1,0.5,null,true],"c":{}}"#)
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

    /// Each character that must be escaped (and two that must not), at every position around
    /// the writer's eight-byte steps: a step that skipped one would leave it raw in the output.
    @Test(arguments: [
        ("\"", #"\""#), ("\\", #"\\"#), ("\n", #"\n"#), ("\u{1B}", #"\u001b"#), ("\u{7F}", #"\u007f"#),
        ("\u{85}", #"\u0085"#), ("\u{2028}", #"\u2028"#), ("é", "é"), ("\u{1F3AC}", "\u{1F3AC}"),
    ])
    func escapesAtEveryOffset(character: String, escaped: String) {
        for offset in 0...17 {
            let before = String(repeating: "a", count: offset), after = String(repeating: "b", count: 19 - offset)
            var json = JSONWriter()
            json.string(before + character + after)
            #expect(String(decoding: json.bytes, as: UTF8.self) == "\"" + before + escaped + after + "\"", "offset \(offset)")
        }
    }

    @Test func plainTextOfAnyLengthIsCopiedWhole() {
        for length in 0...40 {
            let bytes: [UInt8] = (0..<length).map { index in
                let byte = UInt8(0x20 + index * 7 % 0x5F)
                return byte == 0x22 || byte == 0x5C ? 0x2E : byte
            }
            let text = String(decoding: bytes, as: UTF8.self)  // printable ASCII but the two that need escaping
            var json = JSONWriter()
            json.string(text)
            #expect(String(decoding: json.bytes, as: UTF8.self) == "\"" + text + "\"")
        }
    }

    @Test func literalKeysAreSeparatedByCommas() {
        var json = JSONWriter(capacity: 1)  // grows inside the key writes
        json.beginObject()
        json.field(literal: "a", 1)
        json.field(literal: "http.response.status_code", "x")
        json.key(literal: "")
        json.null()
        json.endObject()
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"a":1,"http.response.status_code":"x","":null}"#)
    }
}
