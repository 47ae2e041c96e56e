import Foundation
@testable import FilmAPI

/// The strict JSON parser on arbitrary bytes. What parses must write back (JSONWriter) as a
/// document that parses to the same value, and objects go through film validation as a
/// request body would. Foundation's parser, more lenient, must accept whatever this one does.
enum JSONTarget {
    static func run(_ input: UnsafeBufferPointer<UInt8>) {
        let bytes = Array(input)
        guard let value = try? JSONParser.parse(bytes) else { return }
        precondition((try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)) != nil,
                     "accepted JSON that Foundation refuses")
        var writer = JSONWriter()
        write(value, to: &writer)
        let written = writer.bytes
        guard let again = try? JSONParser.parse(written) else {
            fatalError("written JSON does not parse: \(String(decoding: written, as: UTF8.self))")
        }
        precondition(again == value, "JSON round trip changed the value: \(value) became \(again)")
        if case .object(let object) = value {
            _ = try? FilmInput.validated(object)
            _ = try? FilmPatch.validated(object)
        }
    }

    static func write(_ value: JSONValue, to writer: inout JSONWriter) {
        switch value {
        case .null: writer.null()
        case .bool(let flag): writer.bool(flag)
        case .integer(let number): writer.int(number)
        case .number(let number): writer.double(number)
        case .string(let text): writer.string(text)
        case .array(let elements):
            writer.beginArray()
            for element in elements { write(element, to: &writer) }
            writer.endArray()
        case .object(let members):
            writer.beginObject()
            for (key, member) in members {
                writer.key(key)
                write(member, to: &writer)
            }
            writer.endObject()
        }
    }
}
