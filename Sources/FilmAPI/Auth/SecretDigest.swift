import Crypto

/// The SHA-256 of a key's secret: all the database keeps. The secret carries 190 random bits,
/// so a fast hash is enough (no dictionary to attack, nothing to gain from a slow KDF).
struct SecretDigest: Sendable {
    static let byteCount = 32
    let bytes: [UInt8]

    init(secret: String) {
        bytes = Self.hash(secret).withUnsafeBytes { Array($0) }
    }

    /// A stored digest; nil unless it is 32 bytes.
    init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    /// Compares in constant time: every byte is looked at whatever the first difference, so
    /// the time taken says nothing about how much of a guess was right.
    func matches(_ other: SecretDigest) -> Bool {
        bytes.withUnsafeBytes { Self.equalInConstantTime($0, other.bytes) }
    }

    /// Whether `secret` hashes to this digest, in constant time (a request's presented key:
    /// hashed without copying it into an array or the digest out of swift-crypto's).
    func matches(secret: String) -> Bool {
        Self.hash(secret).withUnsafeBytes { Self.equalInConstantTime($0, bytes) }
    }

    private static func hash(_ secret: String) -> SHA256.Digest {
        var hasher = SHA256()
        var secret = secret
        secret.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return hasher.finalize()
    }

    private static func equalInConstantTime(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
        guard a.count == byteCount, b.count == byteCount else { return false }
        var difference: UInt8 = 0
        for index in 0..<byteCount { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
