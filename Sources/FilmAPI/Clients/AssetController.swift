/// The client artefacts filmd serves itself: its OpenAPI document and the browser console.
/// The bytes are built into the binary (assets/, by Plugins/EmbedAssetsPlugin), so a deployment is one file.
struct AssetController: Sendable {
    /// The console's own policy: its script and style from this origin, calls to this origin,
    /// nothing else, never framed.
    static let consolePolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        + "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    private static let openAPI = Array(EmbeddedAssets.openAPIJSON.utf8)
    private static let page = Array(EmbeddedAssets.consoleHTML.utf8)
    private static let script = Array(EmbeddedAssets.consoleJS.utf8)
    private static let style = Array(EmbeddedAssets.consoleCSS.utf8)

    init() {}

    /// `GET /openapi.json`
    func openAPI(_ request: Request, _ context: RequestContext) throws -> Response {
        Response(status: .ok, headers: HTTPHeaders([("Content-Type", "application/json")]), body: Self.openAPI)
    }

    /// `GET /console`
    func consolePage(_ request: Request, _ context: RequestContext) throws -> Response {
        Self.consoleFile(Self.page, type: "text/html; charset=utf-8")
    }

    /// `GET /console/console.js`
    func consoleScript(_ request: Request, _ context: RequestContext) throws -> Response {
        Self.consoleFile(Self.script, type: "text/javascript; charset=utf-8")
    }

    /// `GET /console/console.css`
    func consoleStyle(_ request: Request, _ context: RequestContext) throws -> Response {
        Self.consoleFile(Self.style, type: "text/css; charset=utf-8")
    }

    private static func consoleFile(_ body: [UInt8], type: String) -> Response {
        Response(status: .ok, headers: HTTPHeaders([("Content-Type", type), ("Content-Security-Policy", consolePolicy)]), body: body)
    }
}
