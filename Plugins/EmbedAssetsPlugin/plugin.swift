import Foundation
import PackagePlugin

/// Generates `EmbeddedAssets.swift` for FilmAPI from the files under `assets/`, in the build's
/// work directory: the served bytes are always those of the checkout, and nothing generated is
/// committed. Runs again only when one of the files changes.
@main
struct EmbedAssetsPlugin: BuildToolPlugin {
    /// Swift name and path under assets/ of each embedded file.
    static let assets = [
        ("openAPIJSON", "openapi.json"),
        ("consoleHTML", "console/index.html"),
        ("consoleJS", "console/console.js"),
        ("consoleCSS", "console/console.css"),
    ]

    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let directory = context.package.directoryURL.appending(path: "assets")
        let inputs = Self.assets.map { directory.appending(path: $0.1) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedAssets.swift")
        return [.buildCommand(
            displayName: "Embedding the asset files in EmbeddedAssets.swift",
            executable: try context.tool(named: "EmbedAssets").url,
            arguments: [output.path(percentEncoded: false), directory.path(percentEncoded: false)] + Self.assets.map { "\($0.0)=\($0.1)" },
            inputFiles: inputs,
            outputFiles: [output]
        )]
    }
}
