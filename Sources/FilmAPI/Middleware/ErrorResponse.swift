import Logging

/// Turns what a layer or a handler threw into a response: a `Problem` as itself, a storage
/// failure as 503, anything else as 500. The cause goes to the log, never into the body.
enum ErrorResponse {
    static func response(for error: any Error, context: RequestContext, logger: Logger) -> Response {
        if let problem = error as? Problem { return problem.response(requestID: context.facts.requestID) }
        let metadata: Logger.Metadata = ["http.request.id": .string(context.facts.requestID), "error": .string("\(error)")]
        if error is StorageUnavailable || error is SQLiteError {
            logger.error("storage failure", metadata: metadata)
            DatabaseErrors.record()
            var problem = Problem.unavailable("The catalogue cannot be reached right now; nothing was changed. Try again shortly.")
            problem.headers.set("Retry-After", "1")
            return problem.response(requestID: context.facts.requestID)
        }
        if error is WriteOutcomeUnknown {
            logger.error("write outcome unknown", metadata: metadata)
            DatabaseErrors.record()
            return Problem(.serviceUnavailable, type: "write-outcome-unknown",
                           detail: "The database connection was lost before this change was confirmed: it may or may not have been applied. Check before sending it again.",
                           headers: HTTPHeaders([("Retry-After", "1")]))
                .response(requestID: context.facts.requestID)
        }
        logger.error("unexpected error", metadata: metadata)
        return Problem(.internalServerError, type: "internal-error", detail: "The server failed to answer this request.")
            .response(requestID: context.facts.requestID)
    }
}
