/// The headers of draft-ietf-httpapi-ratelimit-headers-11 (Structured Field lists):
/// `RateLimit-Policy: "hour";q=50;w=3600, "second";q=1;w=1` (every policy that applied) and
/// `RateLimit: "second";r=0;t=1` (the one closest to exhaustion), plus `Retry-After` on 429.
extension RateLimitResult {
    var statusHeader: String? {
        guard let best = closestIndex else { return nil }
        let name = states[best].policy.name, remaining = states[best].remaining, reset = states[best].reset
        return ASCIIText.string(capacity: name.utf8.count + 48) { text in
            text.append(UInt8(ascii: "\""))
            text.append(name)
            text.append("\";r=")
            text.appendDecimal(remaining)
            text.append(";t=")
            text.appendDecimal(reset)
        }
    }

    /// Adds the headers a limited response carries; nothing for exempt or disabled requests.
    func decorate(_ headers: inout HTTPHeaders) {
        guard !states.isEmpty, let status = statusHeader else { return }
        headers.set("RateLimit-Policy", policyHeader)
        headers.set("RateLimit", status)
        if decision == .rejected { headers.set("Retry-After", String(retryAfter)) }
    }
}
