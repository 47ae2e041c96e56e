import Foundation
import Testing
@testable import FilmAPI

@Suite struct ConfigLoaderTests {
    let files = TemporaryDatabases("config")  // removed with the suite instance

    func file(_ json: String) throws -> String {
        let path = files.file("config-\(UUID().uuidString).json")
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func error(_ body: () throws -> Config) -> ConfigError? {
        do {
            _ = try body()
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            return nil
        }
    }

    @Test func defaultsWithoutAnything() throws {
        #expect(try ConfigLoader.load(file: nil) == Config())
    }

    @Test func theRepositoryConfigIsValidAndDocumentsEveryKey() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = repository.appendingPathComponent("config.json").path
        _ = try ConfigLoader.load(file: path)
        let documented = try JSONParser.parse(Array(Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(keys(of: documented) == keys(of: ConfigLoader.tree(of: Config())))
    }

    private func keys(of value: JSONValue, prefix: String = "") -> Set<String> {
        guard case .object(let object) = value, prefix != "rate_limits.routes" else { return [prefix] }
        return object.reduce(into: Set<String>()) { all, entry in
            all.formUnion(keys(of: entry.value, prefix: prefix.isEmpty ? entry.key : "\(prefix).\(entry.key)"))
        }
    }

    @Test func layersOverrideInOrder() throws {
        let path = try file(#"{"server": {"port": 4000, "host": "0.0.0.0"}, "limits": {"max_body_bytes": 1000}}"#)
        let fromFile = try ConfigLoader.load(file: path)
        #expect(fromFile.server.port == 4000 && fromFile.server.host == "0.0.0.0" && fromFile.limits.maxBodyBytes == 1000)
        #expect(fromFile.limits.maxHeaderBytes == LimitSettings().maxHeaderBytes)
        let fromEnvironment = try ConfigLoader.load(file: path, environment: ["FILMD_SERVER_PORT": "5000", "FILMD_CORS_ALLOWED_ORIGINS": "https://a.example, https://b.example"])
        #expect(fromEnvironment.server.port == 5000)
        #expect(fromEnvironment.cors.allowedOrigins == ["https://a.example", "https://b.example"])
        let fromFlags = try ConfigLoader.load(file: path, environment: ["FILMD_SERVER_PORT": "5000"], flags: ["server.port": .integer(6000)])
        #expect(fromFlags.server.port == 6000)
    }

    @Test func environmentNullClearsAnOptional() throws {
        let path = try file(#"{"database": {"seed_csv": "films.csv"}}"#)
        #expect(try ConfigLoader.load(file: path).database.seedCSV == "films.csv")
        #expect(try ConfigLoader.load(file: path, environment: ["FILMD_DATABASE_SEED_CSV": "null"]).database.seedCSV == nil)
    }

    @Test(arguments: [
        (#"{"serverr": {}}"#, "serverr"),
        (#"{"server": {"prot": 1}}"#, "server.prot"),
        (#"{"limits": {"max_body_bytes": -1}}"#, "limits.max_body_bytes"),
        (#"{"limits": {"max_body_bytes": "big"}}"#, "limits.max_body_bytes"),
        (#"{"database": {"durability": "sometimes"}}"#, "database.durability"),
        (#"{"rate_limits": {"default": "lots per day"}}"#, "rate_limits.default"),
        (#"{"rate_limits": {"routes": {"GET /": "1 per fortnight"}}}"#, "rate_limits.routes.GET /"),
        (#"{"cors": {"allowed_origins": ["example.com"]}}"#, "cors.allowed_origins"),
        (#"{"auth": {"anonymous_role": "root"}}"#, "auth.anonymous_role"),
        (#"{"server": {"trusted_proxies": ["10.0.0.0/33"]}}"#, "server.trusted_proxies"),
        (#"{"tls": {"certificate": "cert.pem"}}"#, "tls.private_key"),
        // Windows that overflow the nanosecond clock are bad limits, not a trap when the limiter is built.
        (#"{"rate_limits": {"default": "1 per 300 years"}}"#, "rate_limits.default"),
        (#"{"rate_limits": {"auth_failures": "5 per 1000 years"}}"#, "rate_limits.auth_failures"),
        (#"{"rate_limits": {"routes": {"GET /": "1 per 300 years"}}}"#, "rate_limits.routes.GET /"),
        // A `*` is allowed only as a whole leftmost host label.
        (#"{"cors": {"allowed_origins": ["https://*.com.*"]}}"#, "cors.allowed_origins"),
        (#"{"cors": {"allowed_origins": ["https://a*.example.com"]}}"#, "cors.allowed_origins"),
    ])
    func badFilesNameTheKey(json: String, key: String) throws {
        let path = try file(json)
        #expect(error { try ConfigLoader.load(file: path) }?.key == key)
    }

    @Test func aBadLimitOrRuleIsQuotedInTheError() throws {
        let limit = try file(#"{"rate_limits": {"application": "1 per 300 years"}}"#)
        #expect(error { try ConfigLoader.load(file: limit) }?.message.contains("\"1 per 300 years\"") == true)
        let rule = try file(#"{"cors": {"allowed_origins": ["https://example.*"]}}"#)
        #expect(error { try ConfigLoader.load(file: rule) }?.message.contains("\"https://example.*\"") == true)
    }

    @Test func anObjectValueInTheFileReplacesTheDefault() throws {
        #expect(!RateLimitSettings().routes.isEmpty)  // so an empty map is a change
        let empty = try file(#"{"rate_limits": {"routes": {}}}"#)
        #expect(try ConfigLoader.load(file: empty).rateLimits.routes == [:])
        let one = try file(#"{"rate_limits": {"routes": {"GET /films": "5 per minute"}}}"#)
        #expect(try ConfigLoader.load(file: one).rateLimits.routes == ["GET /films": "5 per minute"])
        // Sections are not values: they still merge key by key.
        let section = try file(#"{"rate_limits": {"default": "1 per day"}}"#)
        let merged = try ConfigLoader.load(file: section).rateLimits
        #expect(merged.default == "1 per day" && merged.routes == RateLimitSettings().routes)
        #expect(merged.maxClients == RateLimitSettings().maxClients)
    }

    @Test func anObjectValueInTheEnvironmentReplacesTheFile() throws {
        let path = try file(#"{"rate_limits": {"routes": {"GET /films": "5 per minute"}}}"#)
        let replaced = try ConfigLoader.load(file: path, environment: ["FILMD_RATE_LIMITS_ROUTES": #"{"GET /": "2 per second"}"#])
        #expect(replaced.rateLimits.routes == ["GET /": "2 per second"])
        #expect(try ConfigLoader.load(file: path, environment: ["FILMD_RATE_LIMITS_ROUTES": "{}"]).rateLimits.routes == [:])
    }

    @Test func badEnvironmentNamesTheVariableOrKey() {
        #expect(error { try ConfigLoader.load(file: nil, environment: ["FILMD_NOPE": "1"]) }?.key == "FILMD_NOPE")
        #expect(error { try ConfigLoader.load(file: nil, environment: ["FILMD_SERVER_PORT": "x"]) }?.key == "server.port")
        #expect(error { try ConfigLoader.load(file: nil, environment: ["FILMD_CONFIG": "ignored.json"]) } == nil)
    }

    // Foundation's decoder took these; request bodies never could. One parser, one answer.
    @Test(arguments: [#"{"server": {"port": 4000,}}"#, #"{"server": {"port": 4000}, }"#, #"{"limits": {"max_body_bytes": 01}}"#])
    func aFileThatIsNotStrictJSONIsRefused(json: String) throws {
        let path = try file(json)
        let refused = error { try ConfigLoader.load(file: path) }
        #expect(refused?.key == "" && refused?.message == "the configuration file \(path) is not valid JSON")
    }

    @Test func anEnvironmentValueThatIsNotStrictJSONNamesItsKey() {
        let routes = error { try ConfigLoader.load(file: nil, environment: ["FILMD_RATE_LIMITS_ROUTES": #"{"GET /": "2 per second",}"#]) }
        #expect(refusedAsNotJSON(routes, key: "rate_limits.routes"))
        let origins = error { try ConfigLoader.load(file: nil, environment: ["FILMD_CORS_ALLOWED_ORIGINS": #"["https://a.example",]"#]) }
        #expect(refusedAsNotJSON(origins, key: "cors.allowed_origins"))
    }

    private func refusedAsNotJSON(_ error: ConfigError?, key: String) -> Bool {
        error?.key == key && error?.message == "is not valid JSON"
    }

    @Test func renderIsIndentedJSONThatReadsBackAsTheConfiguration() throws {
        var config = Config()
        config.logging.file = #"/var/log/"filmd"\access.log"#
        let text = ConfigLoader.render(config)
        #expect(text.hasPrefix("{\n  \"auth\" : {\n"))
        #expect(try JSONParser.parse(Array(text.utf8)) == ConfigLoader.tree(of: config))
    }

    @Test func renderRedactsThePrivateKey() throws {
        var config = Config()
        config.tls = TLSSettings(certificate: "/etc/filmd/cert.pem", privateKey: "/etc/filmd/key.pem")
        let text = ConfigLoader.render(config)
        #expect(!text.contains("key.pem"))
        #expect(text.contains("cert.pem"))
    }
}

@Suite struct RateLimitRuleTests {
    @Test func parsesFlaskLimiterStrings() {
        #expect(RateLimitRule.parseList("200 per day; 50 per hour") == [
            RateLimitRule(count: 200, window: 86400, name: "day"), RateLimitRule(count: 50, window: 3600, name: "hour"),
        ])
        #expect(RateLimitRule.parse("50/hour") == RateLimitRule(count: 50, window: 3600, name: "hour"))
        #expect(RateLimitRule.parse("10 per 2 minutes") == RateLimitRule(count: 10, window: 120, name: "2minutes"))
        #expect(RateLimitRule.parseList("") == [])
        #expect(RateLimitRule.parse("1 per 100 years") == RateLimitRule(count: 1, window: 100 * 365 * 86400, name: "100years"))
    }

    @Test func theLongestWindowFitsTheClockWithRoomForTheArithmetic() throws {
        let rule = try #require(RateLimitRule.parse("1000000000 per 100 years"))
        let policy = RateLimitPolicy(name: "century", rule: rule)
        // A TAT runs at most two windows ahead of now (one window plus one interval), and now is
        // the monotonic clock: there must be room left for decades of uptime.
        let (twoWindows, overflow) = policy.windowNanoseconds.multipliedReportingOverflow(by: 2)
        #expect(!overflow && Int64.max - twoWindows > 50 * 365 * 86400 * 1_000_000_000)
    }

    @Test(arguments: ["per day", "0 per day", "-1 per day", "5 per fortnight", "5 every day", "5 per 0 days", "five per day",
                      "1 per 300 years", "1 per 101 years", "1 per 1000 years", "99999999999999999999 per day",
                      "1 per 99999999999999999999 seconds"])
    func rejectsMalformedLimits(text: String) {
        #expect(RateLimitRule.parse(text) == nil)
    }
}
