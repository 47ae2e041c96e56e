extension JSONWriter {
    /// Writes a whole tree, object keys sorted (the same document always reads the same).
    mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .integer(let number): int(number)
        case .number(let number): double(number)
        case .string(let text): string(text)
        case .array(let items):
            beginArray()
            for item in items { self.value(item) }
            endArray()
        case .object(let members):
            beginObject()
            for name in members.keys.sorted() {
                key(name)
                self.value(members[name]!)
            }
            endObject()
        }
    }
}

extension JSONValue {
    /// Compact JSON text (`JSONWriter.value`).
    public var text: String {
        var json = JSONWriter()
        json.value(self)
        return String(decoding: json.bytes, as: UTF8.self)
    }

    /// Indented by two spaces, keys sorted, for people to read (`filmd check-config`). Scalars
    /// and keys are written by `JSONWriter`: one escaping for everything filmd prints.
    var indentedText: String {
        var lines = ""
        appendIndented(to: &lines, indent: "")
        return lines
    }

    private func appendIndented(to out: inout String, indent: String) {
        let inner = indent + "  "
        switch self {
        case .array(let items) where !items.isEmpty:
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += inner
                item.appendIndented(to: &out, indent: inner)
                out += index < items.count - 1 ? ",\n" : "\n"
            }
            out += indent + "]"
        case .object(let members) where !members.isEmpty:
            out += "{\n"
            for (index, name) in members.keys.sorted().enumerated() {
                out += inner + JSONValue.string(name).text + " : "
                members[name]!.appendIndented(to: &out, indent: inner)
                out += index < members.count - 1 ? ",\n" : "\n"
            }
            out += indent + "}"
        default:
            out += text
        }
    }
}
