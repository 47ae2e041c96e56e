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
            return Problem.unavailable("The catalogue cannot be reached right now; nothing was changed. Try again shortly.")
                .response(requestID: context.facts.requestID)
        }
        logger.error("unexpected error", metadata: metadata)
        return Problem(.internalServerError, type: "internal-error", detail: "The server failed to answer this request.")
            .response(requestID: context.facts.requestID)
    }
}
