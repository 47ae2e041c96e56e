import Crypto

/// The SHA-256 of a key's secret: all the database keeps. The secret carries 190 random bits,
/// so a fast hash is enough (no dictionary to attack, nothing to gain from a slow KDF).
public struct SecretDigest: Sendable {
    public static let byteCount = 32
    public let bytes: [UInt8]

    public init(secret: String) {
        bytes = Array(SHA256.hash(data: Array(secret.utf8)))
    }

    /// A stored digest; nil unless it is 32 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    /// Compares in constant time: every byte is looked at whatever the first difference, so
    /// the time taken says nothing about how much of a guess was right.
    public func matches(_ other: SecretDigest) -> Bool {
        var difference: UInt8 = 0
        for index in 0..<Self.byteCount { difference |= bytes[index] ^ other.bytes[index] }
        return difference == 0
    }
}
