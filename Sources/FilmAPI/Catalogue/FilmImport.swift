import Foundation

/// Reads films to import (`filmd import`, `database.seed_csv`): CSV with a `name,studio,year`
/// header, or JSON lines. What `filmd export` writes reads back: `likes` and `dislikes` are
/// restored, `id` is ignored (the catalogue assigns ids). Every bad row is reported with its
/// line number; a file with any bad row yields no films at all.
public enum FilmImport {
    /// A film to store, with the votes it already had.
    public struct Row: Sendable, Equatable {
        var film: FilmInput
        var likes: Int64 = 0
        var dislikes: Int64 = 0
    }

    static let exportFields: Set<String> = ["id", "likes", "dislikes"]

    public enum Format: Sendable {
        case csv, jsonLines
    }

    struct RowError: Error, Sendable, Equatable, CustomStringConvertible {
        let line: Int
        let field: String
        let reason: String

        var description: String { "line \(line): \(field): \(reason)" }
    }

    /// How far a parse has got: rows read so far (the CSV header not counted) and how many of
    /// them were bad. `parse` reports it after every row.
    public struct Progress: Sendable, Equatable {
        public var rowsRead = 0
        public var badRows = 0

        public init() {}
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        let errors: [RowError]
        public var description: String { errors.map(\.description).joined(separator: "\n") }
    }

    /// The format a file's name (or, failing that, its first byte) says.
    public static func format(path: String, contents: String) -> Format {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") { return .csv }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { return .jsonLines }
        return contents.drop(while: { $0.isWhitespace }).first == "{" ? .jsonLines : .csv
    }

    public static func parse(_ contents: String, format: Format, progress: ((Progress) -> Void)? = nil) throws(Failure) -> [Row] {
        switch format {
        case .csv: try parseCSV(contents, progress: progress)
        case .jsonLines: try parseJSONLines(contents, progress: progress)
        }
    }

    static func parseCSV(_ contents: String, progress: ((Progress) -> Void)? = nil) throws(Failure) -> [Row] {
        let records: [CSVReader.Record]
        do {
            records = try CSVReader.records(contents.hasPrefix("\u{FEFF}") ? String(contents.dropFirst()) : contents)
        } catch {
            switch error {
            case .unterminatedQuote(let line): throw Failure(errors: [RowError(line: line, field: "row", reason: "a quoted field is never closed")])
            case .strayQuote(let line): throw Failure(errors: [RowError(line: line, field: "row", reason: "a quote inside an unquoted field")])
            }
        }
        guard let header = records.first else { return [] }
        let columns = header.fields.map { $0.trimmingWhitespace().lowercased() }
        let required: Set<String> = ["name", "studio", "year"]
        guard Set(columns).count == columns.count, required.isSubset(of: columns),
              Set(columns).isSubset(of: required.union(exportFields)) else {
            throw Failure(errors: [RowError(line: header.line, field: "header",
                                            reason: "must be name,studio,year (id, likes, dislikes may follow)")])
        }
        var films: [Row] = [], errors: [RowError] = []
        var counts = Progress()
        for record in records.dropFirst() {
            let errorsBefore = errors.count
            defer {
                counts.rowsRead += 1
                if errors.count > errorsBefore { counts.badRows += 1 }
                progress?(counts)
            }
            guard record.fields.count == columns.count else {
                errors.append(RowError(line: record.line, field: "row", reason: "has \(record.fields.count) fields, not \(columns.count)"))
                continue
            }
            let field = Dictionary(uniqueKeysWithValues: zip(columns, record.fields))
            do {
                let film = try FilmInput.validated(name: field["name"] ?? "", studio: field["studio"] ?? "", year: field["year"] ?? "")
                films.append(try votes(Row(film: film), likes: field["likes"].map(JSONValue.fromCSV), dislikes: field["dislikes"].map(JSONValue.fromCSV)))
            } catch {
                errors += error.errors.map { RowError(line: record.line, field: $0.field, reason: $0.reason) }
            }
        }
        guard errors.isEmpty else { throw Failure(errors: errors) }
        return films
    }

    static func parseJSONLines(_ contents: String, progress: ((Progress) -> Void)? = nil) throws(Failure) -> [Row] {
        var films: [Row] = [], errors: [RowError] = []
        var counts = Progress()
        for (offset, line) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.trimmingWhitespace().isEmpty else { continue }
            let errorsBefore = errors.count
            defer {
                counts.rowsRead += 1
                if errors.count > errorsBefore { counts.badRows += 1 }
                progress?(counts)
            }
            do throws(Problem) {
                var object = try JSONValue.object(from: Array(line.utf8))
                let likes = object.removeValue(forKey: "likes"), dislikes = object.removeValue(forKey: "dislikes")
                if let id = object.removeValue(forKey: "id"), !id.isInteger {
                    throw Problem.validation([.init(field: "id", reason: "must be an integer")])
                }
                films.append(try votes(Row(film: try FilmInput.validated(object)), likes: likes, dislikes: dislikes))
            } catch {
                let fieldErrors = error.errors.isEmpty ? [Problem.FieldError(field: "row", reason: error.detail)] : error.errors
                errors += fieldErrors.map { RowError(line: offset + 1, field: $0.field, reason: $0.reason) }
            }
        }
        guard errors.isEmpty else { throw Failure(errors: errors) }
        return films
    }

    private static func votes(_ row: Row, likes: JSONValue?, dislikes: JSONValue?) throws(Problem) -> Row {
        var row = row
        var errors: [Problem.FieldError] = []
        for (name, value) in [("likes", likes), ("dislikes", dislikes)] {
            guard let value else { continue }
            guard case .integer(let count) = value, count >= 0 else {
                errors.append(.init(field: name, reason: "must be a non-negative integer"))
                continue
            }
            if name == "likes" { row.likes = count } else { row.dislikes = count }
        }
        guard errors.isEmpty else { throw Problem.validation(errors) }
        return row
    }
}

extension JSONValue {
    var isInteger: Bool {
        if case .integer = self { return true }
        return false
    }

    /// A CSV cell as a JSON value: an integer when it is one, else a string.
    static func fromCSV(_ cell: String) -> JSONValue {
        Int64(cell.trimmingWhitespace()).map(JSONValue.integer) ?? .string(cell)
    }
}
