import Testing
@testable import FilmAPI

@Suite struct FilmImportTests {
    @Test func csvWithQuotesAndMultilineFields() throws {
        let rows = try FilmImport.parse("name,studio,year\n\"Crouching Tiger, Hidden Dragon\",Sony,2000\n\"Say \"\"Hi\"\"\",\"A, B\",\nUp,Pixar,2009\n", format: .csv)
        #expect(rows.map(\.film.name) == ["Crouching Tiger, Hidden Dragon", "Say \"Hi\"", "Up"])
        #expect(rows[1].film.year == nil)
    }

    @Test func everyBadRowIsReportedWithItsLine() {
        let csv = "name,studio,year\nGood,Studio,2000\n,Studio,2000\nMultiline,\"a\nb\",1999\nBad year,Studio,1800\nShort,row\n"
        do {
            _ = try FilmImport.parse(csv, format: .csv)
            Issue.record("accepted bad rows")
        } catch {
            // The multi-line field keeps later line numbers right, and is itself refused (a control character).
            #expect(error.errors.map(\.line) == [3, 4, 6, 7])
            #expect(error.errors.map(\.field) == ["name", "studio", "year", "row"])
        }
    }

    @Test func jsonLinesRestoreVotesAndIgnoreIds() throws {
        let rows = try FilmImport.parse("{\"id\":9,\"name\":\"A\",\"studio\":\"B\",\"year\":null,\"likes\":3,\"dislikes\":1}\n\n{\"name\":\"C\",\"studio\":\"D\"}\n", format: .jsonLines)
        #expect(rows.map(\.likes) == [3, 0])
        #expect(rows.map(\.dislikes) == [1, 0])
    }

    @Test func jsonLinesReportLines() {
        do {
            _ = try FilmImport.parse("{\"name\":\"A\",\"studio\":\"B\"}\nnot json\n{\"name\":\"\",\"studio\":\"B\",\"likes\":-1}\n", format: .jsonLines)
            Issue.record("accepted bad rows")
        } catch {
            #expect(error.errors.map(\.line) == [2, 3])
        }
    }

    @Test func headerMustNameTheColumns() {
        #expect(throws: FilmImport.Failure.self) { try FilmImport.parse("title,studio,year\nA,B,2000\n", format: .csv) }
    }

    @Test func formatFollowsTheNameThenTheContent() {
        #expect(FilmImport.format(path: "x.csv", contents: "{") == .csv)
        #expect(FilmImport.format(path: "x.ndjson", contents: "") == .jsonLines)
        #expect(FilmImport.format(path: "x", contents: "  {\"name\":1}") == .jsonLines)
    }

    @Test func exportCSVDefusesFormulasAndQuotes() {
        let film = Film(id: 1, name: "=cmd()", studio: "A, \"B\"", year: nil)
        #expect(FilmExport.line(film, format: .csv) == "1,'=cmd(),\"A, \"\"B\"\"\",,0,0")
    }

    @Test func progressCountsRowsAndBadRowsAsItGoes() {
        var seen: [FilmImport.Progress] = []
        let csv = "name,studio,year\nGood,S,2000\nBad,S,1800\n,S,abc\nShort\nGood,S,\n"
        _ = try? FilmImport.parse(csv, format: .csv) { seen.append($0) }
        // A row with two bad fields is one bad row; the header is not a row.
        #expect(seen.map(\.rowsRead) == [1, 2, 3, 4, 5])
        #expect(seen.map(\.badRows) == [0, 1, 2, 3, 3])
        seen = []
        _ = try? FilmImport.parse("{\"name\":\"A\",\"studio\":\"B\"}\n\n{\"name\":1}\n", format: .jsonLines) { seen.append($0) }
        #expect(seen.map(\.rowsRead) == [1, 2])
        #expect(seen.map(\.badRows) == [0, 1])
    }
}
