/// The rules of SPEC §1.3, shared by new films and patches.
enum FilmFieldRules {
    static func unknownFields(in object: [String: JSONValue], allowed: Set<String>) -> [Problem.FieldError] {
        object.keys.filter { !allowed.contains($0) }.sorted().map {
            Problem.FieldError(field: $0, reason: "is not a film field (expected name, studio, year)")
        }
    }

    /// A trimmed string of 1...limit characters without control characters; nil when absent
    /// (an error when `required`) or invalid.
    static func text(_ value: JSONValue?, field: String, limit: Int, required: Bool,
                     errors: inout [Problem.FieldError]) -> String? {
        guard let value else {
            if required { errors.append(.init(field: field, reason: "is required")) }
            return nil
        }
        guard case .string(let raw) = value else {
            errors.append(.init(field: field, reason: "must be a string, not \(value.typeName)"))
            return nil
        }
        let text = raw.trimmingWhitespace()
        if text.unicodeScalars.contains(where: \.isControl) {
            errors.append(.init(field: field, reason: "must not contain control characters"))
        } else if text.isEmpty {
            errors.append(.init(field: field, reason: "must not be empty"))
        } else if text.unicodeScalars.count > limit {  // code points, as JSON Schema's maxLength counts
            errors.append(.init(field: field, reason: "must be at most \(limit) characters"))
        } else {
            return text
        }
        return nil
    }

    /// nil: absent; .some(nil): null; .some(year): a valid year.
    static func year(_ value: JSONValue?, errors: inout [Problem.FieldError]) -> Int?? {
        switch value {
        case nil: return nil
        case .null?: return .some(nil)
        case .integer(let year)? where FilmInput.years.contains(Int(clamping: year)):
            return .some(Int(year))
        // JSON Schema's "integer" includes 2013.0; a fraction is still refused.
        case .number(let year)? where year.rounded(.towardZero) == year
                && Double(FilmInput.years.lowerBound)...Double(FilmInput.years.upperBound) ~= year:
            return .some(Int(year))
        default:
            errors.append(.init(field: "year", reason: "must be an integer from 1878 to 2100, or null"))
            return nil
        }
    }
}

extension Unicode.Scalar {
    /// C0, DEL and C1 controls.
    var isControl: Bool { value < 0x20 || (0x7F...0x9F).contains(value) }

    /// Unicode's White_Space; ASCII answered without the property tables (tab to CR, space).
    var isWhitespace: Bool { isASCII ? value == 0x20 || (0x09...0x0D).contains(value) : properties.isWhitespace }
}

extension StringProtocol {
    /// Without leading and trailing white space (Unicode's definition, newlines included).
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        // Sliced by scalar indices and copied once: rebuilding a scalar view appended scalar by
        // scalar, a sixth of an add's instructions.
        return String(self[first..<scalars.index(after: last)])
    }
}
