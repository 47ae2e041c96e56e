import Logging

/// Turns whatever the layers below threw into a response: a `Problem` as itself, a storage
/// failure as 503, anything else as 500. The cause goes to the log, never into the body.
public struct ErrorMiddleware: Middleware {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func handle(_ request: Request, context: RequestContext, next: Responder) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return problem.response(requestID: context.requestID)
        } catch {
            return Self.response(for: error, context: context, logger: logger)
        }
    }

    /// The status `response(for:)` answers `error` with.
    static func status(for error: any Error) -> HTTPStatus {
        isStorageFailure(error) ? .serviceUnavailable : .internalServerError
    }

    private static func isStorageFailure(_ error: any Error) -> Bool {
        error is StorageUnavailable || error is SQLiteError
    }

    static func response(for error: any Error, context: RequestContext, logger: Logger) -> Response {
        let metadata: Logger.Metadata = ["http.request.id": .string(context.requestID), "error": .string("\(error)")]
        if isStorageFailure(error) {
            logger.error("storage failure", metadata: metadata)
            DatabaseErrors.record()
            return Problem.unavailable("The catalogue cannot be reached right now; nothing was changed. Try again shortly.")
                .response(requestID: context.requestID)
        }
        logger.error("unexpected error", metadata: metadata)
        return Problem(.internalServerError, type: "internal-error", detail: "The server failed to answer this request.")
            .response(requestID: context.requestID)
    }
}
