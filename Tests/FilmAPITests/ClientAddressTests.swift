import Testing
@testable import FilmAPI

/// Who the client is: forwarded headers believed only from trusted proxies, walked right to left.
@Suite struct ClientAddressTests {
    let resolver = ClientAddressResolver(trustedProxies: ["127.0.0.1", "10.0.0.0/8", "2001:db8:ffff::/48"])

    func client(peer: String, _ headers: [(String, String)]) -> String {
        resolver.client(of: IPAddress(peer)!, headers: HTTPHeaders(headers)).description
    }

    @Test func untrustedPeersAreTheClientWhateverTheySay() {
        #expect(client(peer: "198.51.100.7", [("X-Forwarded-For", "1.2.3.4")]) == "198.51.100.7")
        #expect(client(peer: "198.51.100.7", [("Forwarded", "for=1.2.3.4")]) == "198.51.100.7")
        let noProxies = ClientAddressResolver(trustedProxies: [])
        #expect(noProxies.client(of: IPAddress("127.0.0.1")!, headers: HTTPHeaders([("X-Forwarded-For", "1.2.3.4")])).description == "127.0.0.1")
    }

    @Test func walksRightToLeftPastTrustedHops() {
        // The client prepended a lie; the proxies appended what they saw.
        #expect(client(peer: "127.0.0.1", [("X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.1.2.3")]) == "203.0.113.9")
        #expect(client(peer: "127.0.0.1", [("X-Forwarded-For", "6.6.6.6, 203.0.113.9"), ("X-Forwarded-For", "10.1.2.3")]) == "203.0.113.9")
        #expect(client(peer: "10.0.0.1", [("X-Forwarded-For", "203.0.113.9")]) == "203.0.113.9")
    }

    @Test func everyHopTrustedMeansTheFarthestIsTheClient() {
        #expect(client(peer: "127.0.0.1", [("X-Forwarded-For", "10.0.0.5, 10.0.0.6")]) == "10.0.0.5")
        #expect(client(peer: "127.0.0.1", []) == "127.0.0.1")
    }

    @Test func aHopThatIsNotAnAddressStopsAtTheLastTrustedOne() {
        #expect(client(peer: "127.0.0.1", [("X-Forwarded-For", "203.0.113.9, garbage, 10.0.0.5")]) == "10.0.0.5")
        #expect(client(peer: "127.0.0.1", [("Forwarded", "for=unknown")]) == "127.0.0.1")
    }

    @Test func forwardedElementsWithPortsQuotesAndIPv6() {
        #expect(client(peer: "127.0.0.1", [("Forwarded", #"for=192.0.2.60;proto=http;by=203.0.113.43"#)]) == "192.0.2.60")
        #expect(client(peer: "127.0.0.1", [("Forwarded", #"for="[2001:db8:cafe::17]:4711", for=10.0.0.2"#)]) == "2001:db8:cafe::17")
        #expect(client(peer: "127.0.0.1", [("Forwarded", #"For="192.0.2.61:8080""#)]) == "192.0.2.61")
        #expect(client(peer: "127.0.0.1", [("X-Forwarded-For", "192.0.2.62:443")]) == "192.0.2.62")
        #expect(client(peer: "2001:db8:ffff::1", [("X-Forwarded-For", "2001:db8::42")]) == "2001:db8::42")
    }

    @Test func xForwardedForWinsOverForwarded() {
        #expect(client(peer: "127.0.0.1", [("Forwarded", "for=6.6.6.6"), ("X-Forwarded-For", "203.0.113.9")]) == "203.0.113.9")
    }

    @Test func onlyTheLastThirtyTwoHopsAreRead() {
        let hops = Array(repeating: "10.0.0.9", count: 40).joined(separator: ", ")
        #expect(client(peer: "127.0.0.1", [("X-Forwarded-For", "203.0.113.9, " + hops)]) == "10.0.0.9")
    }

    @Test func addressesParsePrintAndMask() throws {
        #expect(IPAddress("192.0.2.1")?.description == "192.0.2.1")
        #expect(IPAddress("192.0.2.1")?.isIPv4 == true)
        #expect(IPAddress("::ffff:1.2.3.4")?.description == "1.2.3.4")
        #expect(IPAddress("[2001:DB8::1]")?.description == "2001:db8::1")
        #expect(IPAddress("2001:db8::1")?.isIPv4 == false)
        #expect(IPAddress("256.0.0.1") == nil && IPAddress("example.com") == nil && IPAddress("") == nil)
        #expect(IPAddress("[]") == nil && IPAddress("[1.2.3.4") == nil && IPAddress("1.2.3.4\u{0}9") == nil)
        #expect(IPAddress("0000:0000:0000:0000:0000:ffff:255.255.255.255")?.description == "255.255.255.255")
        #expect(IPAddress(String(repeating: "0", count: 60) + "::1") == nil)
        func address(_ text: String) throws -> IPAddress { try #require(IPAddress(text)) }
        let v4 = try #require(AddressRange("10.0.0.0/8"))
        #expect(try v4.contains(address("10.255.1.2")))
        #expect(try !v4.contains(address("11.0.0.1")))
        let v6 = try #require(AddressRange("2001:db8::/32"))
        #expect(try v6.contains(address("2001:db8:ffff::1")))
        #expect(try !v6.contains(address("2001:db9::1")))
        let odd = try #require(AddressRange("2001:db8:8000::/33"))
        #expect(try odd.contains(address("2001:db8:ffff::1")))
        #expect(try !odd.contains(address("2001:db8:7fff::1")))
        #expect(try #require(IPAddress("2001:db8:1:2:3:4:5:6")).masked(to: 64).description == "2001:db8:1:2::")
        #expect(try #require(IPAddress("2001:db8:1:2:3:4:5:6")).masked(to: 80).description == "2001:db8:1:2:3::")
    }
}
