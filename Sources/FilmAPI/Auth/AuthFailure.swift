/// Why a request was not authenticated: the `reason` of `filmd_auth_failures_total`. Every one
/// of them gets the same 401 body, so a caller learns nothing about which it was.
enum AuthFailure: String, Sendable, CaseIterable {
    /// No key, on a route that needs more than the anonymous role.
    case missing
    /// Something was sent that is not a filmd key (wrong shape, another scheme, two keys).
    case malformed
    /// No key has this id, or the secret does not match.
    case unknown
    case expired
    case revoked
}
