import Foundation

/// `filmd export` lines: JSON lines (what `filmd import` reads back) or CSV.
public enum FilmExport {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl, csv
    }

    public static func header(_ format: Format) -> String? {
        format == .csv ? "id,name,studio,year,likes,dislikes" : nil
    }

    public static func line(_ film: Film, format: Format) -> String {
        switch format {
        case .jsonl:
            return String(decoding: film.jsonBytes, as: UTF8.self)
        case .csv:
            let year = film.year.map(String.init) ?? ""
            return "\(film.id),\(quoted(film.name)),\(quoted(film.studio)),\(year),\(film.likes),\(film.dislikes)"
        }
    }

    /// Quotes a field when it must be (RFC 4180), and defuses spreadsheet formulas.
    static func quoted(_ field: String) -> String {
        var text = field
        if let first = text.first, "=+-@".contains(first) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
