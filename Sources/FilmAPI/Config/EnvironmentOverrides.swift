import Foundation

extension ConfigLoader {
    /// `FILMD_LIMITS_MAX_BODY_BYTES=1000` → `limits.max_body_bytes: 1000`, typed like the default.
    static func environmentOverrides(_ environment: [String: String], defaults: JSONValue) throws(ConfigError) -> [String: JSONValue] {
        var leaves: [String: (path: String, sample: JSONValue)] = [:]
        collectLeaves(defaults, path: "", into: &leaves)
        var overrides: [String: JSONValue] = [:]
        for (name, text) in environment where name.hasPrefix("FILMD_") && !reservedVariables.contains(name) {
            guard let leaf = leaves[name] else { throw ConfigError(key: name, "unknown configuration variable") }
            overrides[leaf.path] = try coerce(text, like: leaf.sample, key: leaf.path)
        }
        return overrides
    }

    private static func collectLeaves(_ value: JSONValue, path: String, into leaves: inout [String: (path: String, sample: JSONValue)]) {
        if case .object(let object) = value, !freeFormKeys.contains(path) {
            for (key, child) in object { collectLeaves(child, path: path.isEmpty ? key : "\(path).\(key)", into: &leaves) }
        } else {
            leaves["FILMD_" + path.uppercased().replacingOccurrences(of: ".", with: "_")] = (path, value)
        }
    }

    private static func coerce(_ text: String, like sample: JSONValue, key: String) throws(ConfigError) -> JSONValue {
        if text == "null" { return .null }
        switch sample {
        case .integer, .number:
            if let number = Int64(text) { return .integer(number) }
            guard let number = Double(text), number.isFinite else { throw ConfigError(key: key, "must be a number") }
            return .number(number)
        case .bool:
            switch text.lowercased() {
            case "true", "1", "yes", "on": return .bool(true)
            case "false", "0", "no", "off": return .bool(false)
            default: throw ConfigError(key: key, "must be true or false")
            }
        case .array, .object:
            if text.hasPrefix("[") || text.hasPrefix("{") {
                guard let parsed = try? JSONParser.parse(Array(text.utf8)) else { throw ConfigError(key: key, "is not valid JSON") }
                return parsed
            }
            guard case .array = sample else { throw ConfigError(key: key, "must be a JSON object") }
            return .array(text.split(separator: ",").map { .string($0.trimmingWhitespace()) }.filter { $0 != .string("") })
        case .string, .null:
            return .string(text)
        }
    }
}
