import ArgumentParser

/// filmd: the command line. Parsing only; the work is in FilmAPI.
@main
struct Filmd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filmd",
        abstract: "A secure film-catalogue JSON API server.",
        subcommands: [Serve.self, CheckConfig.self, Import.self, Export.self, Backup.self, Routes.self, Keys.self],
        defaultSubcommand: Serve.self
    )
}
