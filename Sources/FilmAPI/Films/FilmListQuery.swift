/// Reads `limit`, `cursor` and `sort` of `GET /films`, each at most once.
enum FilmListQuery {
    static func page(from query: QueryParameters) throws(Problem) -> FilmPageRequest {
        let sort = try single(query, "sort").map { text throws(Problem) in
            guard let sort = FilmSort(rawValue: text) else {
                throw Problem.badRequest("sort must be one of id, likes, score.",
                                         errors: [.init(field: "sort", reason: "must be one of id, likes, score")])
            }
            return sort
        } ?? .id
        let limit = try single(query, "limit").map { text throws(Problem) in
            guard text.utf8.count <= 3, let limit = Int(text), text.utf8.allSatisfy({ (48...57).contains($0) }),
                  FilmPageRequest.limits.contains(limit) else {
                throw Problem.badRequest("limit must be an integer from 1 to 100.",
                                         errors: [.init(field: "limit", reason: "must be an integer from 1 to 100")])
            }
            return limit
        } ?? 20
        let cursor = try single(query, "cursor").map { text throws(Problem) in
            guard let cursor = FilmCursor(token: text), cursor.sort == sort else {
                throw Problem.badRequest("cursor is not a next_cursor of this listing and sort order.",
                                         errors: [.init(field: "cursor", reason: "is not a next_cursor of this sort order")])
            }
            return cursor
        }
        return FilmPageRequest(sort: sort, limit: limit, after: cursor)
    }

    private static func single(_ query: QueryParameters, _ name: String) throws(Problem) -> String? {
        let values = query.values(name)
        guard values.count <= 1 else {
            throw Problem.badRequest("\(name) may be given once.", errors: [.init(field: name, reason: "is repeated")])
        }
        return values.first
    }
}
