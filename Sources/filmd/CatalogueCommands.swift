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
        let catalogue = try config.database.openCatalogue()
        defer { catalogue.close() }
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
        let catalogue = try config.database.openCatalogue()
        defer { catalogue.close() }
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
    static let configuration = CommandConfiguration(
        abstract: "Copy the database online and consistently (SQLite backup API; with database.url, pg_dump).")

    @Argument(help: "The file to write.") var destination: String
    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        if let url = config.database.postgresURL {
            switch try PostgresBackup.run(url, destination: destination) {
            case .written:
                print(JSONValue.object(["backup": .string(destination), "format": .string("pg_dump custom")]).text)
            case .needsPGDump(let command):
                FileHandle.standardError.write(Data("""
                    filmd: pg_dump is not installed here, and a PostgreSQL catalogue is backed up with it; nothing was written.
                    Run, where PostgreSQL's client tools are installed (the password from PGPASSWORD or ~/.pgpass):
                      \(command)

                    """.utf8))
                throw ExitCode(69)  // EX_UNAVAILABLE
            }
            return
        }
        let catalogue = try CatalogueFile(path: config.database.path, durability: config.database.durability)
        try catalogue.backup(to: destination)
        print(JSONValue.object(["backup": .string(destination)]).text)
    }
}
