internal import CHiredis

/// One Redis reply, copied out of hiredis's (which is freed when its callback returns).
enum RedisReply: Equatable, Sendable {
    case integer(Int64)
    /// A bulk string or a status (`OK`, `PONG`).
    case string(String)
    case array([RedisReply])
    case null
    case error(String)

    init(_ reply: UnsafePointer<redisReply>) {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_INTEGER: self = .integer(value.integer)
        case REDIS_REPLY_STRING, REDIS_REPLY_STATUS: self = .string(Self.text(value))
        case REDIS_REPLY_ERROR: self = .error(Self.text(value))
        case REDIS_REPLY_ARRAY:
            self = .array((0..<value.elements).compactMap { value.element[$0].map { RedisReply(UnsafePointer($0)) } })
        default: self = .null
        }
    }

    private static func text(_ value: redisReply) -> String {
        guard let start = value.str else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: start, count: value.len), as: UTF8.self)
    }
}
