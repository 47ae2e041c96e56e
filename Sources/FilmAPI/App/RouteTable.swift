/// `filmd routes`: the route table as JSON (the OpenAPI test compares it with the document).
public enum RouteTable {
    public static func json() -> String {
        var json = JSONWriter()
        json.beginArray()
        for route in Routes.table {
            json.beginObject()
            json.field("method", route.method.rawValue)
            json.field("path", route.template)
            json.endObject()
        }
        json.endArray()
        return String(decoding: json.bytes, as: UTF8.self)
    }
}
