import Foundation

/// Reads films to import (`filmd import`, `database.seed_csv`): CSV with a `name,studio,year`
/// header, or JSON lines. Every bad row is reported with its line number; a file with any bad
/// row yields no films at all.
public enum FilmImport {
    public enum Format: Sendable {
        case csv, jsonLines
    }

    public struct RowError: Error, Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let field: String
        public let reason: String

        public var description: String { "line \(line): \(field): \(reason)" }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let errors: [RowError]
        public var description: String { errors.map(\.description).joined(separator: "\n") }
    }

    /// The format a file's name (or, failing that, its first byte) says.
    public static func format(path: String, contents: String) -> Format {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") { return .csv }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { return .jsonLines }
        return contents.drop(while: { $0.isWhitespace }).first == "{" ? .jsonLines : .csv
    }

    public static func parse(_ contents: String, format: Format) throws(Failure) -> [FilmInput] {
        switch format {
        case .csv: try parseCSV(contents)
        case .jsonLines: try parseJSONLines(contents)
        }
    }

    static func parseCSV(_ contents: String) throws(Failure) -> [FilmInput] {
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
        guard columns.count == 3, Set(columns) == ["name", "studio", "year"] else {
            throw Failure(errors: [RowError(line: header.line, field: "header", reason: "must be name,studio,year")])
        }
        let index = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
        var films: [FilmInput] = [], errors: [RowError] = []
        for record in records.dropFirst() {
            guard record.fields.count == 3 else {
                errors.append(RowError(line: record.line, field: "row", reason: "has \(record.fields.count) fields, not 3"))
                continue
            }
            do {
                films.append(try FilmInput.validated(name: record.fields[index["name"]!], studio: record.fields[index["studio"]!],
                                                     year: record.fields[index["year"]!]))
            } catch {
                errors += error.errors.map { RowError(line: record.line, field: $0.field, reason: $0.reason) }
            }
        }
        guard errors.isEmpty else { throw Failure(errors: errors) }
        return films
    }

    static func parseJSONLines(_ contents: String) throws(Failure) -> [FilmInput] {
        var films: [FilmInput] = [], errors: [RowError] = []
        for (offset, line) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.trimmingWhitespace().isEmpty else { continue }
            do {
                films.append(try FilmInput.validated(try JSONValue.object(from: Array(line.utf8))))
            } catch {
                let fieldErrors = error.errors.isEmpty ? [Problem.FieldError(field: "row", reason: error.detail)] : error.errors
                errors += fieldErrors.map { RowError(line: offset + 1, field: $0.field, reason: $0.reason) }
            }
        }
        guard errors.isEmpty else { throw Failure(errors: errors) }
        return films
    }
}
