// Writes EmbeddedAssets.swift: each file under assets/ as a Swift raw string literal, byte for
// byte, so that filmd serves its OpenAPI document and console from memory (one-file deployment).
// Run at build time by Plugins/EmbedAssetsPlugin:  EmbedAssets OUTPUT ASSETS_DIRECTORY NAME=PATH...
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("EmbedAssets: \(message)\n".utf8))
    exit(1)
}

/// The shortest run of `#` with which neither the closing delimiter nor an escape can occur in
/// `text`: the literal then holds the text exactly.
func hashes(for text: String) -> String {
    var hashes = "#"
    while text.contains("\"\"\"" + hashes) || text.contains("\\" + hashes) || text.contains("\"" + hashes) { hashes += "#" }
    return hashes
}

/// A multi-line raw literal. The line break before its closing delimiter is not part of the
/// string, so a trailing newline of the file is kept.
func literal(_ text: String) -> String {
    let delimiter = hashes(for: text)
    return "\(delimiter)\"\"\"\n\(text)\n\"\"\"\(delimiter)"
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count > 2 else { fail("usage: EmbedAssets OUTPUT ASSETS_DIRECTORY NAME=PATH...") }
let output = arguments[0], directory = arguments[1]
var source = ["// Generated at build time by Plugins/EmbedAssetsPlugin from assets/: edit those files instead.", "",
              "enum EmbeddedAssets {"]
for argument in arguments.dropFirst(2) {
    guard let equals = argument.firstIndex(of: "=") else { fail("not NAME=PATH: \(argument)") }
    let name = argument[..<equals], relative = argument[argument.index(after: equals)...]
    let path = "\(directory)/\(relative)"
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    // A multi-line literal turns CR LF into LF, and Swift source holds no NUL.
    guard !data.contains(13), !data.contains(0) else { fail("\(path): carriage returns and NULs cannot be embedded") }
    guard let text = String(validating: data, as: UTF8.self) else { fail("\(path) is not UTF-8") }
    source.append("    /// assets/\(relative)")
    source.append("    static let \(name): String = \(literal(text))")
}
source.append("}")
do {
    try Data((source.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
} catch {
    fail("cannot write \(output): \(error)")
}

/// `make fuzz` builds every target with `-sanitize=fuzzer`, this build tool included, and
/// libFuzzer then wants its entry point. The tool never fuzzes: its own `main` runs.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzEntryPointNeverCalled(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { 0 }
