import ArgumentParser
import FilmAPI
import Foundation

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import films from a CSV (name,studio,year) or JSON-lines file: all rows or none.")

    @Argument(help: "The file to import.") var file: String
    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file)")
        }
        let contents = String(decoding: data, as: UTF8.self)
        let films: [FilmImport.Row]
        let progress = ImportProgress()
        do {
            films = try FilmImport.parse(contents, format: FilmImport.format(path: file, contents: contents),
                                         progress: progress.update)
            progress.finish()
        } catch {
            progress.finish()
            FileHandle.standardError.write(Data((error.description + "\nnothing imported\n").utf8))
            throw ExitCode(65)
        }
        let catalogue = try CatalogueFile(path: config.database.path, durability: config.database.durability)
        let count = try catalogue.importFilms(films)
        print(#"{"imported":\#(count)}"#)
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write every film, in id order, as JSON lines or CSV.")

    @Option(help: "jsonl or csv.") var format: String = "jsonl"
    @Option(help: "Write to this file instead of standard output.") var output: String?
    @OptionGroup var options: ConfigOptions

    func run() throws {
        guard let format = FilmExport.Format(rawValue: format) else { throw ValidationError("--format must be jsonl or csv") }
        let config = try options.load()
        let catalogue = try CatalogueFile(path: config.database.path, durability: config.database.durability)
        var text = FilmExport.header(format).map { $0 + "\n" } ?? ""
        try catalogue.forEachFilm { text += FilmExport.line($0, format: format) + "\n" }
        if let output {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Copy the database online and consistently (SQLite backup API).")

    @Argument(help: "The file to write.") var destination: String
    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let catalogue = try CatalogueFile(path: config.database.path, durability: config.database.durability)
        try catalogue.backup(to: destination)
        print(JSONValue.object(["backup": .string(destination)]).text)
    }
}
