import ArgumentParser
import FilmAPI
import Foundation

/// The options every command shares: where the configuration comes from, and the flags that
/// override it (the top layer of defaults < file < environment < flags).
struct ConfigOptions: ParsableArguments {
    @Option(help: "The configuration file (default: $FILMD_CONFIG, else ./config.json if present).")
    var config: String?

    @Option(help: "The SQLite database file (database.path).")
    var db: String?

    var configFile: String? {
        if let config { return config }
        if let fromEnvironment = ProcessInfo.processInfo.environment["FILMD_CONFIG"] { return fromEnvironment }
        return FileManager.default.fileExists(atPath: "config.json") ? "config.json" : nil
    }

    func flags(_ listen: ListenOptions?) -> [String: JSONValue] {
        var flags = listen?.flags ?? [:]
        if let db { flags["database.path"] = .string(db) }
        return flags
    }

    /// The configuration read again from the same sources (SIGHUP); throws `ConfigError`.
    func reload(listen: ListenOptions? = nil) throws -> Config {
        try ConfigLoader.load(file: configFile, environment: ProcessInfo.processInfo.environment, flags: flags(listen))
    }

    /// The effective configuration, or exit 78 (EX_CONFIG) saying which key is wrong.
    func load(reportingAsJSON: Bool = false, listen: ListenOptions? = nil) throws -> Config {
        do {
            return try ConfigLoader.load(file: configFile, environment: ProcessInfo.processInfo.environment,
                                         flags: flags(listen))
        } catch {
            if reportingAsJSON {
                var json = JSONWriter()
                json.beginObject()
                json.field("level", "critical")
                json.field("msg", "invalid configuration")
                json.field("config.key", error.key)
                json.field("error", error.description)
                json.endObject()
                print(String(decoding: json.bytes, as: UTF8.self))
            } else {
                FileHandle.standardError.write(Data("filmd: invalid configuration: \(error)\n".utf8))
            }
            throw ExitCode(78)
        }
    }
}

/// `--host` and `--port`: only for `serve`, and `check-config`, which shows what serve would use.
/// The commands that open the database and exit (import, keys, ...) do not listen.
struct ListenOptions: ParsableArguments {
    @Option(help: "Listen address (server.host).")
    var host: String?

    @Option(help: "Listen port, 0 for any free port (server.port).")
    var port: Int?

    var flags: [String: JSONValue] {
        var flags: [String: JSONValue] = [:]
        if let host { flags["server.host"] = .string(host) }
        if let port { flags["server.port"] = .integer(Int64(port)) }
        return flags
    }
}
