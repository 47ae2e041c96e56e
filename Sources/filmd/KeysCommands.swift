import ArgumentParser
import FilmAPI
import Foundation

/// `filmd keys create|list|revoke`: API keys in the database the server reads (it picks up
/// changes within a second).
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke API keys.", subcommands: [Create.self, List.self, Revoke.self])

    static func database(_ options: ConfigOptions) throws -> any KeyStore {
        try options.load().database.openKeyStore()
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key and print it once, as a JSON line with its id; only its SHA-256 is stored.")

        @Option(help: "reader, voter, editor or admin.") var role: String
        @Option(help: "What the key is for (1 to 100 characters).") var name: String
        @Option(help: "Lifetime: 30m, 12h, 90d or 4w (default: never expires).") var expires: String?
        @OptionGroup var options: ConfigOptions

        func validate() throws {
            guard Role(rawValue: role) != nil else { throw ValidationError("--role must be reader, voter, editor or admin") }
            guard APIKey.isValidName(name) else { throw ValidationError("--name must be 1 to 100 characters without control characters") }
            if let expires, KeyLifetime.seconds(expires) == nil {
                throw ValidationError("--expires must be a whole number of m, h, d or w (at most ten years), e.g. 90d")
            }
        }

        func run() throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role must be reader, voter, editor or admin") }
            let issued = try Keys.database(options).issue(name: name, role: role, lifetime: expires.flatMap(KeyLifetime.seconds), now: Keys.now)
            print(issued.key.jsonLine(token: issued.token))
            FileHandle.standardError.write(Data("filmd: this is the only time the key is shown; store it now\n".utf8))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every key as a JSON line: id, name, role and times (never the key or its hash).")

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let (keys, unreadable) = try Keys.database(options).all()
            for key in keys { print(key.jsonLine()) }
            if unreadable > 0 {
                FileHandle.standardError.write(Data("filmd: \(unreadable) rows of api_keys are not valid keys and are ignored\n".utf8))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id; a running server refuses it within a second.")

        @Argument(help: "The key id (the part between filmd_ and the second _).") var id: String
        @OptionGroup var options: ConfigOptions

        func run() throws {
            guard let key = try Keys.database(options).revoke(id: id, now: Keys.now) else {
                FileHandle.standardError.write(Data("filmd: no key has the id \(id.debugDescription)\n".utf8))
                throw ExitCode(1)
            }
            print(key.jsonLine())
        }
    }
}
