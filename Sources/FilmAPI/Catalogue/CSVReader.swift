/// RFC 4180 CSV: fields separated by commas, optionally quoted with `"` (`""` inside quotes is
/// a quote; a quoted field may span lines). Each record keeps the line it started on, which is
/// what import errors report. Hand-written because the CSV packages at hand do not report
/// line numbers.
struct CSVReader {
    struct Record {
        var line: Int
        var fields: [String]
    }

    enum Failure: Error, Equatable {
        case unterminatedQuote(line: Int)
        case strayQuote(line: Int)
    }

    static func records(_ text: String) throws(Failure) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field: [Unicode.Scalar] = []
        var line = 1, recordLine = 1
        var inQuotes = false, wasQuoted = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending = scalars.next()

        func endField() {
            fields.append(String(String.UnicodeScalarView(field)))
            field.removeAll(keepingCapacity: true)
            wasQuoted = false
        }

        while let scalar = pending {
            pending = scalars.next()
            if inQuotes {
                if scalar == "\"" {
                    if pending == "\"" { field.append("\""); pending = scalars.next() } else { inQuotes = false }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.append(scalar)
                }
                continue
            }
            switch scalar {
            case ",":
                endField()
            case "\"":
                guard field.isEmpty, !wasQuoted else { throw .strayQuote(line: line) }
                inQuotes = true
                wasQuoted = true
            case "\r" where pending == "\n":
                continue
            case "\n", "\r":
                endField()
                if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(line: recordLine, fields: fields)) }
                fields.removeAll()
                line += 1
                recordLine = line
            default:
                guard !wasQuoted else { throw .strayQuote(line: line) }
                field.append(scalar)
            }
        }
        guard !inQuotes else { throw .unterminatedQuote(line: recordLine) }
        if !field.isEmpty || !fields.isEmpty || wasQuoted {
            endField()
            records.append(Record(line: recordLine, fields: fields))
        }
        return records
    }
}
