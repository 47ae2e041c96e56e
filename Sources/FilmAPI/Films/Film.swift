/// A film of the catalogue, as stored and as served.
public struct Film: Sendable, Equatable {
    var id: Int64
    var name: String
    var studio: String
    var year: Int?
    var likes: Int64
    var dislikes: Int64

    init(id: Int64, name: String, studio: String, year: Int?, likes: Int64 = 0, dislikes: Int64 = 0) {
        self.id = id
        self.name = name
        self.studio = studio
        self.year = year
        self.likes = likes
        self.dislikes = dislikes
    }

    /// `{"id":…,"name":…,"studio":…,"year":…,"likes":…,"dislikes":…}`
    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field(literal: "id", id)
        json.field(literal: "name", name)
        json.field(literal: "studio", studio)
        json.key(literal: "year")
        if let year { json.int(year) } else { json.null() }
        json.field(literal: "likes", likes)
        json.field(literal: "dislikes", dislikes)
        json.endObject()
    }

    var jsonBytes: [UInt8] {
        var json = JSONWriter(capacity: 96 + name.utf8.count + studio.utf8.count)
        write(to: &json)
        return json.bytes
    }
}

/// A like or a dislike.
enum Vote: String, Sendable {
    case like, dislike
}
