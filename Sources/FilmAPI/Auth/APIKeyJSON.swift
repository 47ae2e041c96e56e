/// The JSON lines of `filmd keys`: a key's metadata, never its digest; the key itself only in
/// the line `keys create` prints once.
extension APIKey {
    public func jsonLine(token: APIKeyToken? = nil) -> String {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.field("id", id)
        if let token { json.field("key", token.text) }
        json.field("name", name)
        json.field("role", role.rawValue)
        json.field("created_at", Self.timestamp(createdAt))
        json.field("expires_at", expiresAt.map(Self.timestamp))
        json.field("revoked_at", revokedAt.map(Self.timestamp))
        json.field("last_used_at", lastUsedAt.map(Self.timestamp))
        json.endObject()
        return String(decoding: json.bytes, as: UTF8.self)
    }

    static func timestamp(_ seconds: Int64) -> String {
        LogTimestamp.format(seconds: Int(seconds), milliseconds: nil)
    }
}
