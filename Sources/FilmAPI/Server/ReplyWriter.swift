internal import CLibEvent

/// Writes a `Response` into libevent and sends it. HEAD replies keep every header, including
/// the GET's `Content-Length`, and libevent leaves the body out.
enum ReplyWriter {
    static func write(_ response: Response, to raw: RawRequest, close: Bool) {
        let headers = evhttp_request_get_output_headers(raw)
        var hasLength = false
        for (name, value) in response.headers {
            // evhttp_add_header refuses values with CR or LF; filmd never builds such a value.
            evhttp_add_header(headers, name, value)
            if !hasLength, name.equalsIgnoringASCIICase("Content-Length") { hasLength = true }
        }
        let status = response.status.code
        if !hasLength, status != 204, status != 304, status >= 200 {
            evhttp_add_header(headers, "Content-Length", String(response.body.count))
        }
        if close { evhttp_add_header(headers, "Connection", "close") }
        if evhttp_request_get_command(raw) != EVHTTP_REQ_HEAD, !response.body.isEmpty,
           let output = evhttp_request_get_output_buffer(raw) {
            response.body.withUnsafeBytes { _ = evbuffer_add(output, $0.baseAddress, $0.count) }
        }
        evhttp_send_reply(raw, Int32(status), response.status.reasonPhrase, nil)
    }
}
