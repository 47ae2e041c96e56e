import FilmAPI
import Foundation

/// `filmd import`'s progress line on a terminal: rows read, rows per second, bad rows so far,
/// redrawn in place on stderr at most every 100 ms and once more at the end. When stderr is not
/// a terminal (a pipe, a file, journald) it writes nothing, so scripts see only the summary.
final class ImportProgress {
    private let enabled: Bool
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64?
    private var latest = FilmImport.Progress()

    static let interval: UInt64 = 100_000_000

    init(enabled: Bool = isatty(STDERR_FILENO) == 1) { self.enabled = enabled }

    func update(_ progress: FilmImport.Progress) {
        guard enabled else { return }
        latest = progress
        // The clock is read once every 256 rows: a million-row import stays cheap.
        guard lastDraw == nil || progress.rowsRead % 256 == 0 else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        if let lastDraw, now - lastDraw < Self.interval { return }
        draw(now: now, end: "")
    }

    /// The last line, ended: the error report or the shell prompt goes below it.
    func finish() {
        guard enabled else { return }
        draw(now: DispatchTime.now().uptimeNanoseconds, end: "\n")
    }

    private func draw(now: UInt64, end: String) {
        lastDraw = now
        let seconds = max(Double(now - start) / 1e9, 0.001)
        let perSecond = Int((Double(latest.rowsRead) / seconds).rounded())
        let line = "\r\u{1B}[Kfilmd import: \(latest.rowsRead) rows read, \(perSecond) rows/s, \(latest.badRows) bad rows" + end
        FileHandle.standardError.write(Data(line.utf8))
    }
}
