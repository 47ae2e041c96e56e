internal import CLibEvent

/// Writes a `Response` into libevent and sends it. HEAD replies keep every header, including
/// the GET's `Content-Length`, and libevent leaves the body out.
enum ReplyWriter {
    static func write(_ response: Response, to raw: RawRequest, close: Bool) {
        let headers = evhttp_request_get_output_headers(raw)
        var lines = HeaderLines()
        var length: Int? = nil
        for (name, value) in response.headers.fields {
            switch transportField(name) {
            case .contentLength: length = length ?? Int(value)
            case .date: continue  // the transport's own, this second's
            case .readByEvhttp: evhttp_add_header(headers, name, value)  // refuses CR and LF by itself
            case nil: lines.append(name, value)
            }
        }
        if let block = response.headers.block { lines.append(formatted: block.wire) }
        let status = response.status.code
        let bodyless = status == 204 || status == 304 || status < 200
        lines.add(to: headers, contentLength: bodyless ? nil : length ?? response.body.count)
        if close { evhttp_add_header(headers, "Connection", "close") }
        if evhttp_request_get_command(raw) != EVHTTP_REQ_HEAD, !response.body.isEmpty,
           let output = evhttp_request_get_output_buffer(raw) {
            response.body.withUnsafeBytes { _ = evbuffer_add(output, $0.baseAddress, $0.count) }
        }
        filmd_http_send_reply(raw, Int32(status), response.status.reasonPhrase)
    }

    private enum TransportField { case contentLength, date, readByEvhttp }

    /// Whether the transport writes or reads `name` itself (not for a `HeaderBlock`).
    static func isTransportField(_ name: String) -> Bool { transportField(name) != nil }

    /// Fields the transport writes itself (Date, Content-Length: a handler's length is kept,
    /// for HEAD) and those evhttp looks up in the output headers while it writes the reply,
    /// which must each be an entry of their own.
    private static func transportField(_ name: String) -> TransportField? {
        switch name.utf8.count {
        case 4: name.equalsIgnoringASCIICase("Date") ? .date : nil
        case 10: name.equalsIgnoringASCIICase("Connection") ? .readByEvhttp : nil
        case 14: name.equalsIgnoringASCIICase("Content-Length") ? .contentLength : nil
        case 16: name.equalsIgnoringASCIICase("Proxy-Connection") ? .readByEvhttp : nil
        case 17: name.equalsIgnoringASCIICase("Transfer-Encoding") ? .readByEvhttp : nil
        default: nil
        }
    }
}

/// Header fields formatted as the lines of a response head, to go to evhttp as the value of
/// its Date entry (see `filmd_header_lines`). A field whose name is not a token or whose value holds a
/// control character (CR, LF, NUL above all) is left out, as evhttp_add_header would.
struct HeaderLines: ~Copyable {
    private var lines = filmd_header_lines()

    init() {}

    deinit {
        var lines = lines
        filmd_header_lines_free(&lines)
    }

    /// Appends one field; false when it was left out.
    @discardableResult
    mutating func append(_ name: String, _ value: String) -> Bool {
        // In place (no copies of the two strings) when contiguous, as native strings are.
        let appended = name.utf8.withContiguousStorageIfAvailable { name in
            value.utf8.withContiguousStorageIfAvailable { value in append(name, value) }
        }
        if let appended, let appended { return appended }
        return append(Array(name.utf8), Array(value.utf8))
    }

    private mutating func append(_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) -> Bool {
        name.withMemoryRebound(to: CChar.self) { name in
            value.withMemoryRebound(to: CChar.self) { value in
                filmd_header_lines_append(&lines, name.baseAddress, name.count, value.baseAddress, value.count) == 0
            }
        }
    }

    private mutating func append(_ name: [UInt8], _ value: [UInt8]) -> Bool {
        name.withUnsafeBufferPointer { name in value.withUnsafeBufferPointer { value in append(name, value) } }
    }

    /// Appends lines formatted by `append` before (a `HeaderBlock`'s `wire`).
    mutating func append(formatted wire: [UInt8]) {
        wire.withUnsafeBufferPointer { wire in
            wire.withMemoryRebound(to: CChar.self) { _ = filmd_header_lines_append_formatted(&lines, $0.baseAddress, $0.count) }
        }
    }

    /// `\r\nName: value` for each field so far.
    var wire: [UInt8] {
        let text = self.text
        return text.isEmpty ? [] : Array(("\r\n" + text).utf8)
    }

    /// The lines so far (for tests).
    var text: String { withUnsafePointer(to: lines) { String(cString: filmd_header_lines_text($0)) } }

    /// Hands the lines to evhttp with this second's Date and, when given, the Content-Length.
    consuming func add(to headers: UnsafeMutablePointer<evkeyvalq>?, contentLength: Int?) {
        _ = filmd_header_lines_add(&lines, headers, contentLength ?? -1)
    }
}
