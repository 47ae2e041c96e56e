import Testing
@testable import FilmAPI

/// The start-up self check (`self_check.c`). That it fails when libevent bypasses one of the
/// guard's functions is shown on the live binary (test_lifecycle.py, an LD_PRELOADed shim that
/// rebinds libevent's GOT entry for each function in turn).
@Suite struct LibEventSeamTests {
    @Test func theGuardsInterpositionHoldsInThisProcess() {
        let seam = LibEventSeam.check()
        #expect(!seam.probeFailed)
        #expect(seam.bypassed == [])
        #expect(seam.holds)
        #expect(seam.version.hasPrefix("2.1."))
        #expect(seam.library.contains("libevent"))
    }

    @Test func theCheckCanRunAgain() {
        for _ in 0..<3 { #expect(LibEventSeam.check().holds) }
    }
}
