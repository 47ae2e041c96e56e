import Testing
@testable import FilmAPI

@Suite struct ASCIITextTests {
    @Test(arguments: [0, 7, 10, 99, 100, 1_000_000, -1, -45, Int64.max, Int64.min])
    func decimalsMatchTheStandardLibrary(value: Int64) {
        var json = JSONWriter()
        json.int(value)
        #expect(String(decoding: json.bytes, as: UTF8.self) == String(value))
    }

    @Test(arguments: [2, 10, 16, 36] as [UInt64])
    func digitsInEveryRadixMatchTheStandardLibrary(radix: UInt64) {
        for value in [0, 1, radix - 1, radix, radix * radix + 1, 1_234_567_890_123, UInt64.max] {
            let text = ASCIIText.string(capacity: 64) { $0.append(value, radix: radix) }
            #expect(text == String(value, radix: Int(radix)), "\(value) in radix \(radix)")
        }
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

@Suite struct ByteBufferTests {
    @Test func keepsEveryByteAcrossGrowth() {
        var buffer = ByteBuffer(capacity: 0)
        var expected: [UInt8] = []
        for round in 0..<50 {
            let piece = Array("piece \(round);".utf8)
            piece.withUnsafeBufferPointer { buffer.append($0) }
            buffer.append(UInt8(round))
            buffer.append("é")
            expected += piece + [UInt8(round)] + Array("é".utf8)
        }
        #expect(buffer.count == expected.count)
        #expect(buffer.array == expected)
    }
}
