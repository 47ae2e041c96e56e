internal import CLibEvent

/// A TLS 1.2+ server context from `tls.certificate` and `tls.private_key` (PEM). Shared by
/// every event loop; each connection gets its own session from it.
final class TLSContext: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer

    init(certificate: String, privateKey: String) throws {
        var reason = [CChar](repeating: 0, count: 160)
        guard let pointer = filmd_tls_context_new(certificate, privateKey, &reason, reason.count) else {
            throw ServerError.tls(String(cString: reason))
        }
        self.pointer = pointer
    }

    deinit { filmd_tls_context_free(pointer) }
}
