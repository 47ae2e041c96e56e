import Foundation

/// `filmd backup` with `database.url`: PostgreSQL's own tool makes the copy (a consistent
/// snapshot, in pg_dump's custom format). Without pg_dump filmd says what to run; it never
/// writes something that only looks like a backup.
public enum PostgresBackup {
    public enum Outcome {
        case written
        /// No pg_dump on PATH: the command to run where there is one (password redacted).
        case needsPGDump(command: String)
    }

    /// The arguments for pg_dump: the URI without its password, which goes in PGPASSWORD instead
    /// (a command line is visible to every user of the machine).
    static func arguments(_ url: PostgresURL, destination: String) -> [String] {
        ["--format=custom", "--file=\(destination)", "--dbname=\(url.withoutPassword)"]
    }

    public static func run(_ url: PostgresURL, destination: String,
                           environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Outcome {
        let path = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/pg_dump" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else {
            let shown = ["pg_dump", "--format=custom", "--file=\(destination)", "--dbname=\(url.redacted)"]
            return .needsPGDump(command: shown.map(shellQuoted).joined(separator: " "))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments(url, destination: destination)
        var childEnvironment = environment
        if let password = url.password { childEnvironment["PGPASSWORD"] = password }
        process.environment = childEnvironment
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            // A partial dump must not be mistaken for a backup later.
            if FileManager.default.fileExists(atPath: destination) { try FileManager.default.removeItem(atPath: destination) }
            throw PGDumpFailed(status: process.terminationStatus)
        }
        return .written
    }

    private static func shellQuoted(_ word: String) -> String {
        word.allSatisfy { $0.isLetter || $0.isNumber || "-_=./:@".contains($0) } ? word
            : "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}

/// pg_dump ran and failed (its own message is on standard error above).
struct PGDumpFailed: Error, CustomStringConvertible {
    let status: Int32
    var description: String { "pg_dump failed (exit status \(status)); no backup was made" }
}
