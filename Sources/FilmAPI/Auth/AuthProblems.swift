/// The answers of authentication and authorization (SPEC §4).
extension Problem {
    /// 401, one body for every reason (no key where one is needed, or a key that is malformed,
    /// unknown, expired or revoked); only `WWW-Authenticate` says whether a key was sent.
    static func unauthorized(keySent: Bool) -> Problem {
        let challenge = keySent ? #"Bearer realm="filmd", error="invalid_token""# : #"Bearer realm="filmd""#
        return Problem(.unauthorized, type: "unauthorized",
                       detail: "This request needs a valid API key, sent as Authorization: Bearer <key> or X-API-Key: <key>.",
                       headers: HTTPHeaders([("WWW-Authenticate", challenge)]))
    }

    /// 403: the key is valid, its role is not enough.
    static func forbidden(needs role: Role) -> Problem {
        Problem(.forbidden, type: "forbidden", detail: "This request needs the \(role.rawValue) role, which this API key does not have.")
    }
}
