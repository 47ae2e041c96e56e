@testable import FilmAPI
import Testing

@Suite struct PostgresURLTests {
    @Test func acceptsOnlyPostgresURIs() {
        #expect(PostgresURL("postgres://filmd@127.0.0.1:5432/filmd") != nil)
        #expect(PostgresURL("postgresql:///filmd?host=/run/postgresql") != nil)
        #expect(PostgresURL("host=127.0.0.1 dbname=filmd") == nil)
        #expect(PostgresURL("mysql://x@y/z") == nil)
        #expect(PostgresURL("postgres://a b@c/d") == nil)
    }

    @Test func redactsThePasswordWhereverItIs() throws {
        let inUserinfo = try #require(PostgresURL("postgres://filmd:s3cr%40t@db.example:5432/films?sslmode=require"))
        #expect(inUserinfo.redacted == "postgres://filmd:<redacted>@db.example:5432/films?sslmode=require")
        #expect(inUserinfo.withoutPassword == "postgres://filmd@db.example:5432/films?sslmode=require")
        #expect(inUserinfo.password == "s3cr@t")
        let inQuery = try #require(PostgresURL("postgresql://db/films?password=hunter2&sslmode=disable"))
        #expect(inQuery.redacted == "postgresql://db/films?password=<redacted>&sslmode=disable")
        #expect(inQuery.withoutPassword == "postgresql://db/films?sslmode=disable")
        #expect(inQuery.password == "hunter2")
        let none = try #require(PostgresURL("postgres://filmd@127.0.0.1/filmd"))
        #expect(none.redacted == none.text && none.password == nil)
    }
}

extension ConfigLoaderTests {
    @Test func configValidatesAndRedactsTheURL() throws {
        let bad = error { try ConfigLoader.load(file: nil, environment: ["FILMD_DATABASE_URL": "filmd.db"]) }
        #expect(bad?.key == "database.url")
        let config = try ConfigLoader.load(file: nil, environment: ["FILMD_DATABASE_URL": "postgres://filmd:topsecret@127.0.0.1/filmd"])
        #expect(config.database.url == "postgres://filmd:topsecret@127.0.0.1/filmd")
        let text = ConfigLoader.render(config)
        #expect(!text.contains("topsecret"))
        #expect(text.contains("postgres://filmd:<redacted>@127.0.0.1/filmd"))
        #expect(try ConfigLoader.load(file: nil).database.url == nil)
    }
}

@Suite struct PGParametersTests {
    @Test func arraysQuoteEveryElementAndKeepNull() {
        #expect(PGParameters.array(["plain", #"say "hi""#, #"back\slash"#, nil, ""]) ==
                #"{"plain","say \"hi\"","back\\slash",NULL,""}"#)
        #expect(PGParameters.array([]) == "{}")
    }

    @Test func byteaIsHexWithItsPrefix() {
        #expect(PGParameters.bytea([0x00, 0x0F, 0xA0, 0xFF]) == #"\x000fa0ff"#)
    }

    @Test func pgDumpNeverSeesThePasswordOnItsCommandLine() throws {
        let url = try #require(PostgresURL("postgres://filmd:pw@db:5432/films"))
        let arguments = PostgresBackup.arguments(url, destination: "/backups/films.dump")
        #expect(arguments == ["--format=custom", "--file=/backups/films.dump", "--dbname=postgres://filmd@db:5432/films"])
        guard case .needsPGDump(let command) = try PostgresBackup.run(url, destination: "/tmp/x.dump", environment: ["PATH": "/nonexistent"]) else {
            Issue.record("pg_dump found on an empty PATH")
            return
        }
        // Quoted for a shell: < and > would redirect.
        #expect(command == "pg_dump --format=custom --file=/tmp/x.dump '--dbname=postgres://filmd:<redacted>@db:5432/films'")
    }
}
