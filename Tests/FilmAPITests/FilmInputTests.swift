import Testing
@testable import FilmAPI

@Suite struct FilmInputTests {
    func validate(_ json: String) throws(Problem) -> FilmInput {
        try FilmInput.validated(try JSONValue.object(from: Array(json.utf8)))
    }

    func fieldErrors(_ json: String) -> [String] {
        do {
            _ = try validate(json)
            return []
        } catch {
            return error.errors.map(\.field)
        }
    }

    @Test func trimsUnicodeWhiteSpaceAndKeepsCombiningMarks() throws {
        #expect("\u{3000}\tAme\u{301}lie\u{301} \n\u{A0}".trimmingWhitespace() == "Ame\u{301}lie\u{301}")
        #expect(" \u{2003} ".trimmingWhitespace() == "")
        #expect("x".trimmingWhitespace() == "x")
        let film = try validate(#"{"name":"\u00a0Le \"Samoura\u00ef\" ","studio":"\tCICC","year":null}"#)
        #expect(film == FilmInput(name: "Le \"Samouraï\"", studio: "CICC", year: nil))
    }

    @Test func acceptsAndTrims() throws {
        let film = try validate(#"{"name":"  Frozen ","studio":"Disney","year":2013}"#)
        #expect(film == FilmInput(name: "Frozen", studio: "Disney", year: 2013))
        #expect(try validate(#"{"name":"Up","studio":"Pixar","year":null}"#).year == nil)
        #expect(try validate(#"{"name":"Up","studio":"Pixar"}"#).year == nil)
    }

    @Test func keepsMarkupVerbatim() throws {
        #expect(try validate(#"{"name":"<script>alert(1)</script>","studio":"X"}"#).name == "<script>alert(1)</script>")
    }

    @Test(arguments: [
        (#"{"studio":"Disney"}"#, ["name"]),
        (#"{"name":"   ","studio":"Disney"}"#, ["name"]),
        (#"{"name":"a\u0007b","studio":"Disney"}"#, ["name"]),
        (#"{"name":"a\u0085b","studio":"Disney"}"#, ["name"]),
        (#"{"name":1,"studio":"Disney"}"#, ["name"]),
        (#"{"name":"A","studio":"Disney","year":1877}"#, ["year"]),
        (#"{"name":"A","studio":"Disney","year":2101}"#, ["year"]),
        (#"{"name":"A","studio":"Disney","year":"2013"}"#, ["year"]),
        (#"{"name":"A","studio":"Disney","year":2013.5}"#, ["year"]),
        (#"{"name":"A","studio":"Disney","year":true}"#, ["year"]),
        (#"{"name":"A","studio":"Disney","rating":5}"#, ["rating"]),
    ])
    func rejects(json: String, fields: [String]) {
        #expect(fieldErrors(json) == fields)
    }

    @Test func lengthLimitsCountCharacters() {
        let name200 = String(repeating: "é", count: 200)
        #expect(fieldErrors(#"{"name":"\#(name200)","studio":"S"}"#).isEmpty)
        #expect(fieldErrors(#"{"name":"\#(name200)x","studio":"S"}"#) == ["name"])
        #expect(fieldErrors(#"{"name":"N","studio":"\#(String(repeating: "s", count: 101))"}"#) == ["studio"])
    }

    @Test func reportsEveryBadFieldAtOnce() {
        #expect(Set(fieldErrors(#"{"name":"","studio":"","year":3000,"x":1}"#)) == ["name", "studio", "year", "x"])
    }

    @Test(arguments: ["[1]", "\"film\"", "{", "", "{\"name\":\"a\",}"])
    func nonObjectsAreBadRequests(body: String) {
        let problem = #expect(throws: Problem.self) { try JSONValue.object(from: Array(body.utf8)) }
        #expect(problem?.status == .badRequest)
    }

    @Test func patchDistinguishesNullFromAbsent() throws {
        let cleared = try FilmPatch.validated(try JSONValue.object(from: Array(#"{"year":null}"#.utf8)))
        #expect(cleared.year == .some(nil))
        let unchanged = try FilmPatch.validated(try JSONValue.object(from: Array(#"{"name":"B"}"#.utf8)))
        #expect(unchanged.year == nil)
        #expect(throws: Problem.self) { try FilmPatch.validated([:]) }
        #expect(throws: Problem.self) { try FilmPatch.validated(["name": .null]) }
    }
}

@Suite struct FilmIDTests {
    @Test(arguments: ["1", "42", "007", "999999999999999999"])
    func acceptsAsciiDigits(text: String) {
        #expect(FilmID.parse(text) == Int64(text))
    }

    @Test(arguments: ["", "-1", "+1", " 1", "1 ", "1.0", "1e3", "²", "١", "１", "0x1", "1234567890123456789"])
    func rejectsEverythingElse(text: String) {
        #expect(FilmID.parse(text) == nil)
    }
}

@Suite struct FilmYearTests {
    @Test(arguments: ["1e400", "99999999999999999999", "-99999999999999999999", "1e20", "2013.0000001"])
    func hugeOrFractionalYearsAreRefusedNotFatal(year: String) {
        #expect(throws: Problem.self) {
            try FilmInput.validated(try JSONValue.object(from: Array(#"{"name":"A","studio":"B","year":\#(year)}"#.utf8)))
        }
    }

    @Test func integralNumbersAreYears() throws {
        #expect(try FilmInput.validated(try JSONValue.object(from: Array(#"{"name":"A","studio":"B","year":2013.0}"#.utf8))).year == 2013)
    }
}

@Suite struct MediaTypeTests {
    @Test(arguments: [("application/json", true), ("Application/JSON; charset=utf-8", true), (" application/json ;x=1", true),
                      ("application/json-patch+json", false), ("text/json", false), ("", false), (";application/json", false),
                      ("application/jsoné", false)])
    func jsonIsTheEssenceBeforeParameters(contentType: String, isJSON: Bool) {
        #expect(MediaType.isJSON(contentType) == isJSON)
    }
}
