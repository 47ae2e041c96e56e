import ArgumentParser
import FilmAPI
import Foundation
import Logging

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP server (the default command).")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var listen: ListenOptions

    func run() throws {
        let config = try options.load(reportingAsJSON: true, listen: listen)
        let sink: LogSink
        do {
            sink = try config.logging.file.map { try LogSink(path: $0) } ?? LogSink()
        } catch {
            Self.fail("cannot open the log file", error)
        }
        let level = LogLevelControl(LogLevelName.parse(config.logging.level) ?? .info)
        LoggingSystem.bootstrap { _ in JSONLogHandler(sink: sink, level: level) }
        let logger = Logger(label: "filmd")
        let options = self.options, listen = self.listen
        do {
            let daemon = Daemon(config: config, loadConfig: { try options.reload(listen: listen) }, sink: sink, level: level, logger: logger)
            let code = try daemon.run()
            if code != 0 { throw ExitCode(code) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            logger.critical("cannot start", metadata: ["error": .string("\(error)")])
            sink.flush()
            throw ExitCode(1)
        }
    }

    static func fail(_ message: String, _ error: any Error) -> Never {
        var json = JSONWriter()
        json.beginObject()
        json.field("level", "critical")
        json.field("msg", message)
        json.field("error", String(describing: error))
        json.endObject()
        print(String(decoding: json.bytes, as: UTF8.self))
        Foundation.exit(1)
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config",
                                                    abstract: "Validate and print the effective configuration (secrets redacted).")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var listen: ListenOptions

    func run() throws {
        print(ConfigLoader.render(try options.load(listen: listen)))
    }
}

struct Routes: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the route table as JSON (method and path template).")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        print(RouteTable.json())
    }
}
