import Foundation

/// A parsed JSON document that keeps what validation needs to see: whether a number was an
/// integer, and the difference between a missing key and `null`.
/// Parsed by `JSONParser` only; `Encodable` is the bridge into the configuration's structs.
public enum JSONValue: Sendable, Equatable, Encodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses a request body, or throws the 400 problem saying why it is not a JSON object.
    static func object(from body: [UInt8]) throws(Problem) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw Problem.badRequest("The request body is not valid JSON.")
        }
        guard case .object(let object) = value else {
            throw Problem.badRequest("The request body must be a JSON object.")
        }
        return object
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
