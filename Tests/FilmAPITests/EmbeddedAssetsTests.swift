import Foundation
import Testing
@testable import FilmAPI

/// The build embeds assets/ (Plugins/EmbedAssetsPlugin): the binary serves each file byte for
/// byte, quotes, backslashes and the trailing newline included.
@Suite struct EmbeddedAssetsTests {
    static let assets = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("assets")

    @Test(arguments: [
        (EmbeddedAssets.openAPIJSON, "openapi.json"),
        (EmbeddedAssets.consoleHTML, "console/index.html"),
        (EmbeddedAssets.consoleJS, "console/console.js"),
        (EmbeddedAssets.consoleCSS, "console/console.css"),
    ])
    func theEmbeddedTextIsTheFile(embedded: String, file: String) throws {
        let bytes = try Data(contentsOf: Self.assets.appendingPathComponent(file))
        #expect(Array(embedded.utf8) == Array(bytes))
    }
}
