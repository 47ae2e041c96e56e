import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// filmd's fuzz targets. `FILMD_FUZZ_TARGET` picks one: `json` (the JSON parser and film
/// validation) or `head` (libevent's request parser, filmd's guard, request reader and router,
/// over a real connection). Built with `-sanitize=fuzzer` (see `make fuzz`), the arguments
/// are libFuzzer's; built without it, each argument is a file run once, to replay a reproducer.
@main
struct FilmdFuzz {
    typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    typealias Driver = @convention(c) (UnsafeMutablePointer<CInt>,
                                       UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                                       TestOneInput) -> CInt

    static func main() {
        guard target != nil else {
            fail("set FILMD_FUZZ_TARGET to json or head")
        }
        // SwiftPM's executable `main` wins over libFuzzer's, so libFuzzer is started by hand:
        // its driver is found in this binary when the build exported it (see the Makefile).
        if let symbol = dlsym(nil, "LLVMFuzzerRunDriver") {
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(unsafeBitCast(symbol, to: Driver.self)(&argc, &argv, fuzzOne))
        }
        for path in CommandLine.arguments.dropFirst() {
            guard let bytes = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
            [UInt8](bytes).withUnsafeBufferPointer { _ = fuzzOne($0.baseAddress, $0.count) }
            print("ran \(path)")
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("filmd-fuzz: \(message)\n".utf8))
        exit(2)
    }

    enum Target: String { case json, head }

    static let target = ProcessInfo.processInfo.environment["FILMD_FUZZ_TARGET"].flatMap(Target.init)
}

/// libFuzzer's entry point: one input through the chosen target.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    switch FilmdFuzz.target {
    case .json: JSONTarget.run(input)
    case .head: HeadTarget.run(input)
    case nil: break
    }
    return 0
}
