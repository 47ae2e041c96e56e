/// A film as a client submits it (`POST /films`, `POST /add_film`, a row of `filmd import`),
/// validated: the only way to get one is through `validated`.
struct FilmInput: Sendable, Equatable {
    var name: String
    var studio: String
    var year: Int?

    static let nameLimit = 200
    static let studioLimit = 100
    static let years = 1878...2100
    static let fields: Set<String> = ["name", "studio", "year"]

    /// Validates a JSON object, reporting every bad field at once.
    static func validated(_ object: [String: JSONValue]) throws(Problem) -> FilmInput {
        var errors = FilmFieldRules.unknownFields(in: object, allowed: fields)
        let name = FilmFieldRules.text(object["name"], field: "name", limit: nameLimit, required: true, errors: &errors)
        let studio = FilmFieldRules.text(object["studio"], field: "studio", limit: studioLimit, required: true, errors: &errors)
        let year = FilmFieldRules.year(object["year"], errors: &errors)
        guard errors.isEmpty, let name, let studio else { throw Problem.validation(errors) }
        return FilmInput(name: name, studio: studio, year: year ?? nil)
    }

    /// Validates plain strings (a CSV row); an empty year means none.
    static func validated(name: String, studio: String, year: String) throws(Problem) -> FilmInput {
        var object: [String: JSONValue] = ["name": .string(name), "studio": .string(studio)]
        let trimmedYear = year.trimmingWhitespace()
        if !trimmedYear.isEmpty {
            guard let number = Int64(trimmedYear) else {
                throw Problem.validation([.init(field: "year", reason: "must be an integer from 1878 to 2100")])
            }
            object["year"] = .integer(number)
        }
        return try validated(object)
    }
}

/// A partial update (`PATCH /films/{id}`): absent fields stay, `year: null` clears the year.
struct FilmPatch: Sendable, Equatable {
    var name: String?
    var studio: String?
    /// nil: unchanged; .some(nil): cleared.
    var year: Int??

    static func validated(_ object: [String: JSONValue]) throws(Problem) -> FilmPatch {
        var errors = FilmFieldRules.unknownFields(in: object, allowed: FilmInput.fields)
        if object.isEmpty {
            errors.append(.init(field: "body", reason: "must change at least one of name, studio, year"))
        }
        let name = FilmFieldRules.text(object["name"], field: "name", limit: FilmInput.nameLimit, required: false, errors: &errors)
        let studio = FilmFieldRules.text(object["studio"], field: "studio", limit: FilmInput.studioLimit, required: false, errors: &errors)
        let year = FilmFieldRules.year(object["year"], errors: &errors)
        guard errors.isEmpty else { throw Problem.validation(errors) }
        return FilmPatch(name: name, studio: studio, year: year)
    }
}
