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

/// Header fields formatted as the lines of a response head, to go to evhttp as one entry.
/// A field whose name is not a token or whose value holds CR, LF or NUL is dropped, as
/// evhttp_add_header would (filmd never builds one; this keeps it impossible).
struct HeaderLines {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1024) }

    mutating func append(_ name: String, _ value: String) {
        var name = name, value = value
        name.withUTF8 { name in
            value.withUTF8 { value in
                guard !name.isEmpty, name.allSatisfy(HTTPToken.isTokenByte),
                      !value.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else { return }
                if !bytes.isEmpty { bytes.append(contentsOf: [0x0D, 0x0A]) }
                bytes.append(contentsOf: name)
                bytes.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                bytes.append(contentsOf: value)
            }
        }
    }

    func add(to headers: UnsafeMutablePointer<evkeyvalq>?) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBufferPointer { lines in
            lines.withMemoryRebound(to: CChar.self) { _ = filmd_add_header_lines(headers, $0.baseAddress, $0.count) }
        }
    }
}
