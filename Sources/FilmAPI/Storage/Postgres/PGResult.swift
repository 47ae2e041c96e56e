internal import CLibPQ
import Foundation

/// One result of a statement, in libpq's text format, cleared when released. Values are read
/// in place; the accessors are the one decoding of PostgreSQL values every caller shares.
final class PGResult {
    private let handle: OpaquePointer

    /// Takes ownership of `handle`; throws (after clearing it) when it reports an error.
    init(_ handle: OpaquePointer) throws(PGError) {
        switch PQresultStatus(handle) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE, PGRES_PIPELINE_SYNC:
            self.handle = handle
        default:
            let error = PGError(result: handle)
            PQclear(handle)
            throw error
        }
    }

    deinit { PQclear(handle) }

    var count: Int { Int(PQntuples(handle)) }

    /// Rows changed by an INSERT, UPDATE or DELETE.
    var affectedRows: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(handle, Int32(row), Int32(column)) == 1 }

    func text(_ row: Int, _ column: Int) -> String { String(cString: PQgetvalue(handle, Int32(row), Int32(column))) }

    func int64(_ row: Int, _ column: Int) -> Int64 { Int64(text(row, column)) ?? 0 }

    func optionalInt64(_ row: Int, _ column: Int) -> Int64? { isNull(row, column) ? nil : int64(row, column) }

    /// A `bytea` in the hex output format (`\x0a1b…`).
    func bytes(_ row: Int, _ column: Int) -> [UInt8] {
        let hex = Array(text(row, column).utf8.dropFirst(2))
        guard hex.count % 2 == 0 else { return [] }
        return stride(from: 0, to: hex.count, by: 2).compactMap { UInt8(String(decoding: hex[$0...$0 + 1], as: UTF8.self), radix: 16) }
    }

    /// Row `row` as a film (columns id, name, studio, year, likes, dislikes).
    func film(_ row: Int) -> Film {
        Film(id: int64(row, 0), name: text(row, 1), studio: text(row, 2),
             year: isNull(row, 3) ? nil : Int(int64(row, 3)), likes: int64(row, 4), dislikes: int64(row, 5))
    }
}

/// Statement parameters in the text format (nil is SQL NULL), as libpq takes them.
enum PGParameters {
    static func bytea(_ bytes: [UInt8]) -> String {
        "\\x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// An array literal (`{"a","b\\"c",NULL}`) for a `$1::text[]`-style parameter.
    static func array(_ values: [String?]) -> String {
        let elements = values.map { value in
            value.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" } ?? "NULL"
        }
        return "{" + elements.joined(separator: ",") + "}"
    }

    /// Calls `body` with C strings for `values`, valid only during the call.
    static func withCStrings<T>(_ values: [String?], _ body: ([UnsafePointer<CChar>?]) throws -> T) rethrows -> T {
        let copies = values.map { $0.map { strdup($0)! } }
        defer { copies.forEach { free($0) } }
        return try body(copies.map { $0.map { UnsafePointer($0) } })
    }
}
