import Foundation

/// Builds the effective configuration from its layers: built-in defaults < the JSON file <
/// `FILMD_*` environment variables < command-line flags. The layers are merged as JSON trees
/// against the tree of the defaults, which is also the schema: a key it lacks is unknown.
public enum ConfigLoader {
    /// Maps of free-form keys (no schema below them). Such a map is one value, like a list: a
    /// layer that sets it replaces the one below wholly (`"routes": {}` removes the built-in route
    /// limits). Only the sections of the schema merge key by key.
    static let freeFormKeys: Set<String> = ["rate_limits.routes"]
    /// Variables with the prefix that are not configuration keys.
    static let reservedVariables: Set<String> = ["FILMD_CONFIG"]

    public static func load(file: String?, environment: [String: String] = [:],
                            flags: [String: JSONValue] = [:]) throws(ConfigError) -> Config {
        let defaults = tree(of: Config())
        var merged = defaults
        if let file {
            let fromFile = try read(file)
            try checkKnown(fromFile, against: defaults, path: "")
            merged = merge(merged, fromFile, path: "")
        }
        for (key, value) in try environmentOverrides(environment, defaults: defaults).sorted(by: { $0.key < $1.key }) {
            merged = setting(merged, path: key.split(separator: ".").map(String.init), to: value)
        }
        for (key, value) in flags.sorted(by: { $0.key < $1.key }) {
            merged = setting(merged, path: key.split(separator: ".").map(String.init), to: value)
        }
        let config = try decode(merged)
        try ConfigValidation.validate(config)
        return config
    }

    /// The configuration as JSON, keys sorted, secrets redacted (`filmd check-config`).
    public static func render(_ config: Config) -> String {
        var redacted = config
        if redacted.tls.privateKey != nil { redacted.tls.privateKey = "<redacted>" }
        redacted.database.url = redacted.database.url.flatMap(PostgresURL.init)?.redacted
        return tree(of: redacted).indentedText
    }

    /// The configuration as a JSON tree. Codable is only the bridge from the structs: the text
    /// it writes is read back by filmd's own parser, like every other JSON filmd reads.
    static func tree(of config: Config) -> JSONValue {
        do {
            return try JSONParser.parse(Array(JSONEncoder().encode(config)))
        } catch {
            preconditionFailure("the configuration always encodes: \(error)")
        }
    }

    private static func read(_ path: String) throws(ConfigError) -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(key: "", "cannot read the configuration file \(path)")
        }
        // Strict RFC 8259, as request bodies: a trailing comma or a comment is an error here too.
        guard let value = try? JSONParser.parse(Array(data)) else {
            throw ConfigError(key: "", "the configuration file \(path) is not valid JSON")
        }
        guard case .object = value else { throw ConfigError(key: "", "the configuration file must hold a JSON object") }
        return value
    }

    private static func checkKnown(_ value: JSONValue, against schema: JSONValue, path: String) throws(ConfigError) {
        guard case .object(let object) = value, case .object(let known) = schema, !freeFormKeys.contains(path) else { return }
        for (key, child) in object.sorted(by: { $0.key < $1.key }) {
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            guard let expected = known[key] else { throw ConfigError(key: childPath, "unknown configuration key") }
            try checkKnown(child, against: expected, path: childPath)
        }
    }

    /// `override` laid over `base`: sections merge key by key, every other value (a free-form
    /// map included) replaces the one below.
    private static func merge(_ base: JSONValue, _ override: JSONValue, path: String) -> JSONValue {
        guard case .object(var result) = base, case .object(let overrides) = override, !freeFormKeys.contains(path) else { return override }
        for (key, value) in overrides {
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            result[key] = result[key].map { merge($0, value, path: childPath) } ?? value
        }
        return .object(result)
    }

    private static func setting(_ tree: JSONValue, path: [String], to value: JSONValue) -> JSONValue {
        guard let head = path.first else { return value }
        guard case .object(var object) = tree else { return tree }
        object[head] = setting(object[head] ?? .object([:]), path: Array(path.dropFirst()), to: value)
        return .object(object)
    }

    private static func decode(_ tree: JSONValue) throws(ConfigError) -> Config {
        do {
            return try JSONDecoder().decode(Config.self, from: JSONEncoder().encode(tree))
        } catch let DecodingError.typeMismatch(type, context) {
            throw ConfigError(key: keyPath(context.codingPath), "must be \(describe(type))")
        } catch let DecodingError.valueNotFound(type, context) {
            throw ConfigError(key: keyPath(context.codingPath), "must be \(describe(type)), not null")
        } catch let DecodingError.dataCorrupted(context) {
            throw ConfigError(key: keyPath(context.codingPath), "has a value that is not allowed")
        } catch let DecodingError.keyNotFound(key, context) {
            throw ConfigError(key: keyPath(context.codingPath + [key]), "is missing")
        } catch {
            throw ConfigError(key: "", "invalid configuration")
        }
    }

    static func keyPath(_ path: [any CodingKey]) -> String {
        path.map(\.stringValue).joined(separator: ".")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is String.Type, is Optional<String>.Type: "a string"
        case is [String].Type: "a list of strings"
        default: "a value of another type"
        }
    }
}
