extension Problem {
    /// 429 with `Retry-After` and the rate-limit headers of the decision.
    static func rateLimited(_ result: RateLimitResult) -> Problem {
        var headers = HTTPHeaders()
        result.decorate(&headers)
        let seconds = result.retryAfter == 1 ? "1 second" : "\(result.retryAfter) seconds"
        return Problem(.tooManyRequests, type: "rate-limited", title: "Too Many Requests",
                       detail: "This client has sent too many requests; retry after \(seconds).", headers: headers)
    }
}
