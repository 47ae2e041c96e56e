import Testing
@testable import FilmAPI

@Suite struct OriginRuleTests {
    @Test func exactOriginsAreNormalised() throws {
        let rule = try #require(OriginRule("HTTPS://App.Example.com:443"))
        #expect(rule.matches(try #require(Origin("https://app.example.com"))))
        #expect(!rule.matches(try #require(Origin("http://app.example.com"))))
        #expect(!rule.matches(try #require(Origin("https://app.example.com:8443"))))
    }

    @Test(arguments: ["https://api.example.com", "https://a.b.example.com"])
    func wildcardMatchesWholeLabels(origin: String) throws {
        #expect(try #require(OriginRule("https://*.example.com")).matches(try #require(Origin(origin))))
    }

    @Test(arguments: ["https://example.com", "https://evil-example.com", "https://example.com.evil.net",
                      "http://api.example.com", "https://api.example.com:444", "https://xexample.com"])
    func wildcardRejectsLookalikes(origin: String) throws {
        #expect(try !#require(OriginRule("https://*.example.com")).matches(try #require(Origin(origin))))
    }

    @Test(arguments: ["null", "example.com", "https://", "https://a.example.com/path", "https://user@a.example.com",
                      "ftp://a.example.com", "https://a.example.com:0", "https://a.example.com:99999",
                      "https://a.example.com:+80", "https://a.example.com:", "https://a.exa mple.com", "https://a.example.com?x",
                      "https://[::1", "https://[::1]x", "https://[::1]:", "https:/a.example.com", "htt:ps://a.example.com",
                      "https://a.exämple.com", "https://a.example.com\\x"])
    func notOrigins(text: String) {
        #expect(Origin(text) == nil)
    }

    /// A `*` is a whole leftmost host label or nothing: anything else is a bad rule at start-up,
    /// never an exact origin with a star in it or a wildcard in another place.
    @Test(arguments: ["https://*.com.*", "https://a*.example.com", "https://*example.com", "https://example.*",
                      "https://*.*.example.com", "https://api.*.example.com", "https://*", "https://*.",
                      "https://**.example.com", "https://*.example.com*", "*.example.com", "https://*.example.com:*"])
    func starsAnywhereButTheLeftmostLabelAreNotRules(text: String) {
        #expect(OriginRule(text) == nil)
    }

    @Test func originsAreParsedIntoTheirParts() throws {
        let v6 = try #require(Origin("HTTP://[::1]:8080"))
        #expect((v6.scheme, v6.host, v6.port) == ("http", "[::1]", 8080))
        #expect(try #require(Origin("https://[::1]")).port == 443)
        let named = try #require(Origin("https://App.Example.COM:0443"))
        #expect(named.description == "https://app.example.com")
        #expect(try #require(Origin("http://localhost:3000")).description == "http://localhost:3000")
    }

    @Test func theFastPathAnswersAsTheParserDoes() {
        func policy(_ origins: [String], credentials: Bool = false) -> CORSPolicy {
            var settings = CORSSettings()
            settings.allowedOrigins = origins
            settings.allowCredentials = credentials
            return CORSPolicy(settings)
        }
        let exactFirst = policy(["https://app.example.com", "https://*.example.com"])
        #expect(exactFirst.allowOrigin(for: "https://app.example.com") == "https://app.example.com")
        #expect(exactFirst.allowOrigin(for: "HTTPS://APP.example.com:443") == "https://app.example.com")
        #expect(exactFirst.allowOrigin(for: "https://b.example.com") == "https://b.example.com")
        #expect(exactFirst.allowOrigin(for: "https://evil.com") == nil)
        // A "*" before the exact rule answers "*" for it too, whichever path finds it.
        let starFirst = policy(["*", "https://app.example.com"])
        #expect(starFirst.allowOrigin(for: "https://app.example.com") == "*")
        #expect(starFirst.allowOrigin(for: "null") == nil)
        #expect(policy(["*"], credentials: true).allowOrigin(for: "https://x.org") == "https://x.org")
    }
}

@Suite struct HeaderLinesTests {
    @Test func fieldsBecomeLinesAndUnsafeOnesAreDropped() {
        var lines = HeaderLines()
        lines.append("X-A", "1")
        lines.append("X-Bad", "a\r\nSet-Cookie: x=1")
        lines.append("Bad Name", "v")
        lines.append("", "v")
        lines.append("X-Nul", "a\u{0}b")
        lines.append("X-B", "two words")
        lines.append("X-Tab", "a\tb")
        #expect(lines.text == "X-A: 1\r\nX-B: two words\r\nX-Tab: a\tb")
    }
}
