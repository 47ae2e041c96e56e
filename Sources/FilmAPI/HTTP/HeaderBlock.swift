/// Header fields that are the same on every response (the security headers), checked and
/// formatted for the wire once, at start: a reply copies them in one go instead of checking
/// and copying each field (six of them cost about 2 % of a GET /).
final class HeaderBlock: Sendable {
    /// The fields that passed the checks (a name that is not a token, a value with a control
    /// character, or a field the transport writes itself is left out, as it would be alone).
    let fields: [(name: String, value: String)]
    /// `\r\nName: value` for each field, as `HeaderLines` formats it.
    let wire: [UInt8]

    init(_ fields: [(name: String, value: String)]) {
        var lines = HeaderLines()
        var kept: [(name: String, value: String)] = []
        for field in fields where !ReplyWriter.isTransportField(field.name) && lines.append(field.name, field.value) {
            kept.append(field)
        }
        self.fields = kept
        wire = lines.wire
    }

    /// The first value of `name`, or nil.
    func value(of name: String) -> String? {
        fields.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }
}
