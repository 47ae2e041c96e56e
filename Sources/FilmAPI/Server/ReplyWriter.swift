internal import CLibEvent

/// Writes a `Response` into libevent and sends it. HEAD replies keep every header, including
/// the GET's `Content-Length`, and libevent leaves the body out.
enum ReplyWriter {
    static func write(_ response: Response, to raw: RawRequest, close: Bool) {
        let headers = evhttp_request_get_output_headers(raw)
        var lines = HeaderLines()
        var hasLength = false
        for (name, value) in response.headers {
            if readByEvhttp(name) {
                if !hasLength, name.equalsIgnoringASCIICase("Content-Length") { hasLength = true }
                evhttp_add_header(headers, name, value)  // refuses CR and LF by itself
            } else {
                lines.append(name, value)
            }
        }
        lines.add(to: headers)
        let status = response.status.code
        if !hasLength, status != 204, status != 304, status >= 200 {
            String(response.body.count).withCString { _ = evhttp_add_header(headers, "Content-Length", $0) }
        }
        if close { evhttp_add_header(headers, "Connection", "close") }
        if evhttp_request_get_command(raw) != EVHTTP_REQ_HEAD, !response.body.isEmpty,
           let output = evhttp_request_get_output_buffer(raw) {
            response.body.withUnsafeBytes { _ = evbuffer_add(output, $0.baseAddress, $0.count) }
        }
        evhttp_send_reply(raw, Int32(status), response.status.reasonPhrase, nil)
    }

    /// Fields evhttp looks up in the output headers while it writes the reply: each must be
    /// an entry of its own.
    private static func readByEvhttp(_ name: String) -> Bool {
        switch name.utf8.count {
        case 4: name.equalsIgnoringASCIICase("Date")
        case 10: name.equalsIgnoringASCIICase("Connection")
        case 12: name.equalsIgnoringASCIICase("Content-Type")
        case 14: name.equalsIgnoringASCIICase("Content-Length")
        case 16: name.equalsIgnoringASCIICase("Proxy-Connection")
        case 17: name.equalsIgnoringASCIICase("Transfer-Encoding")
        default: false
        }
    }
}

/// Header fields formatted as the lines of a response head, to go to evhttp as one entry
/// (see `filmd_header_lines`). A field whose name is not a token or whose value holds a
/// control character (CR, LF, NUL above all) is left out, as evhttp_add_header would.
struct HeaderLines: ~Copyable {
    private var lines = filmd_header_lines()

    init() {}

    deinit {
        var lines = lines
        filmd_header_lines_free(&lines)
    }

    mutating func append(_ name: String, _ value: String) {
        var name = name, value = value
        name.withUTF8 { name in
            value.withUTF8 { value in
                name.withMemoryRebound(to: CChar.self) { name in
                    value.withMemoryRebound(to: CChar.self) { value in
                        _ = filmd_header_lines_append(&lines, name.baseAddress, name.count, value.baseAddress, value.count)
                    }
                }
            }
        }
    }

    /// The lines so far (for tests).
    var text: String {
        guard let key = lines.key, let value = lines.value else { return "" }
        return String(cString: key) + ": " + String(cString: value)
    }

    consuming func add(to headers: UnsafeMutablePointer<evkeyvalq>?) {
        _ = filmd_header_lines_add(&lines, headers)
    }
}
