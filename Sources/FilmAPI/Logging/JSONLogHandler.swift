import Foundation
import Logging

/// A swift-log handler that writes each message as one JSON object per line:
/// `{"ts":…,"level":…,"msg":…,<metadata keys>…}`. Values are escaped by `JSONWriter` (control
/// characters included) and capped, so a log line cannot be forged or bloated by a client.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: LogSink
    private let control: LogLevelControl

    public init(sink: LogSink, level: LogLevelControl) {
        self.sink = sink
        self.control = level
    }

    /// Follows the shared control; setting it sets the level for every logger.
    public var logLevel: Logger.Level {
        get { control.level }
        set { control.level = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.field("ts", LogTimestamp.now())
        json.field("level", event.level.rawValue)
        json.field("msg", LogValue.capped(event.message.description))
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            json.key(key)
            LogValue.write(value, to: &json)
        }
        json.endObject()
        json.withBytes { sink.write($0) }
    }
}

/// Renders metadata values: integers stay numbers, everything else a capped string.
enum LogValue {
    static let maxLength = 512

    static func capped(_ text: String) -> String {
        text.utf8.count <= maxLength ? text : String(text.prefix(maxLength)) + "…"
    }

    static func write(_ value: Logger.MetadataValue, to json: inout JSONWriter) {
        switch value {
        case .string(let text):
            json.string(capped(text))
        case .stringConvertible(let convertible):
            if let number = convertible as? Int { json.int(number) }
            else if let number = convertible as? Int64 { json.int(number) }
            else if let number = convertible as? Double { json.double(number) }
            else if let flag = convertible as? Bool { json.bool(flag) }
            else { json.string(capped(convertible.description)) }
        case .array(let values):
            json.beginArray()
            values.forEach { write($0, to: &json) }
            json.endArray()
        case .dictionary(let values):
            json.beginObject()
            for (key, item) in values.sorted(by: { $0.key < $1.key }) {
                json.key(key)
                write(item, to: &json)
            }
            json.endObject()
        }
    }
}

/// RFC 3339 UTC timestamps with milliseconds. The date and time part is formatted once per
/// second and reused (every request line has one).
enum LogTimestamp {
    private final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var second = -1
        var dateAndTime: [UInt8] = []
    }

    private static let cache = Cache()

    static func now() -> String {
        var bytes = ByteBuffer(capacity: 24)
        append(to: &bytes)
        return bytes.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// Appends `"<now>"` (a JSON string) to `bytes`, building no String: every request's log
    /// line starts with it.
    static func appendNow(quotedTo bytes: inout ByteBuffer) {
        bytes.append(UInt8(ascii: "\""))
        append(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// The one place that reads the clock and the per-second cache.
    private static func append(to bytes: inout ByteBuffer) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let millis = Int(spec.tv_nsec / 1_000_000)
        cache.lock.lock()
        if cache.second != spec.tv_sec {
            cache.second = spec.tv_sec
            cache.dateAndTime = Array(dateAndTime(spec.tv_sec).utf8)
        }
        bytes.append(cache.dateAndTime)
        cache.lock.unlock()
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(ascii: "0") + UInt8(millis / 100))
        bytes.append(UInt8(ascii: "0") + UInt8(millis / 10 % 10))
        bytes.append(UInt8(ascii: "0") + UInt8(millis % 10))
        bytes.append(UInt8(ascii: "Z"))
    }

    /// RFC 3339 in UTC: `2025-01-31T12:00:00.123Z`, or without the fraction when it is nil.
    static func format(seconds: Int, milliseconds: Int?) -> String {
        dateAndTime(seconds) + (milliseconds.map { "." + String(1000 + $0).dropFirst() } ?? "") + "Z"
    }

    private static func dateAndTime(_ seconds: Int) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
    }
}

/// `logging.level` names.
public enum LogLevelName {
    public static func parse(_ name: String) -> Logger.Level? {
        Logger.Level(rawValue: name.lowercased())
    }
}
