/// A configuration that cannot be used, naming the key (`limits.max_body_bytes`) and why.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let key: String
    let message: String

    init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { key.isEmpty ? message : "\(key): \(message)" }
}
