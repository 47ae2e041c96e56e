import Testing
@testable import FilmAPI

@Suite struct ASCIITextTests {
    @Test(arguments: [0, 7, 10, 99, 100, 1_000_000, -1, -45, Int64.max, Int64.min])
    func decimalsMatchTheStandardLibrary(value: Int64) {
        var bytes: [UInt8] = []
        ASCIIText.appendDecimal(value, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == String(value))
    }

    @Test func writesInPlaceAndStopsAtCapacity() {
        let id = ASCIIText.string(capacity: 20) { text in
            text.append("abc-")
            text.append(UInt64(36 * 36 - 1), radix: 36)
            text.append(UInt8(ascii: "/"))
            text.appendDecimal(-305)
        }
        #expect(id == "abc-zz/-305")
        #expect(ASCIIText.string(capacity: 3) { $0.append("abcdef") } == "abc")
    }
}
