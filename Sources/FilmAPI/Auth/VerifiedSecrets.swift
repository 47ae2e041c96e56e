import Synchronization

/// Secrets that matched their key's digest lately, kept as a keyed hash (a tag), never as
/// text. A request presenting one again is checked against its tag (two SipHash runs) instead
/// of hashing the secret with SHA-256, which was about 4 % of a GET /.
///
/// The tag is 128 bits of SipHash under Swift's per-process random seed: outside this process
/// it means nothing, and finding another secret with the same tag is no easier than guessing a
/// key. A tag counts only with the digest it was checked against: a key whose digest changed,
/// an entry evicted or a secret never seen go through SHA-256 as before, and revocation and
/// expiry are checked after the match either way.
final class VerifiedSecrets: Sendable {
    private struct Entry {
        let digest: [UInt8]
        let tag: Tag
    }

    private struct Tag: Equatable {
        let first: Int
        let second: Int
    }

    /// Entries kept at most; past it the table starts again (a key's next request re-hashes).
    static let capacity = 4096
    private let entries = Mutex<[String: Entry]>([:])

    /// Whether `secret` was verified for `id` against this same `digest`.
    func contains(id: String, secret: String, digest: SecretDigest) -> Bool {
        let tag = Self.tag(secret)
        return entries.withLock { entries in
            guard let entry = entries[id] else { return false }
            return entry.tag == tag && entry.digest == digest.bytes
        }
    }

    /// Records that `secret` matched `digest`, the digest of key `id`.
    func insert(id: String, secret: String, digest: SecretDigest) {
        let entry = Entry(digest: digest.bytes, tag: Self.tag(secret))
        entries.withLock { entries in
            if entries.count >= Self.capacity, entries[id] == nil { entries.removeAll(keepingCapacity: true) }
            entries[id] = entry
        }
    }

    private static func tag(_ secret: String) -> Tag {
        var first = Hasher(), second = Hasher()
        first.combine(0 as UInt8)
        second.combine(1 as UInt8)
        first.combine(secret)
        second.combine(secret)
        return Tag(first: first.finalize(), second: second.finalize())
    }
}
