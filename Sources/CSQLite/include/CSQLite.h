#ifndef FILMD_CSQLITE_H
#define FILMD_CSQLITE_H

#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro casting -1 to a function pointer; Swift cannot import it.
static inline sqlite3_destructor_type filmd_sqlite_transient(void) { return SQLITE_TRANSIENT; }

/// Process-wide settings, once, before the first connection opens:
/// - memory statistics off: with them, every allocation SQLite makes takes a process-wide mutex
///   (sixteen per GET /) and filmd never reads them;
/// - the default VFS becomes the system's wrapped so that a transaction's WAL frames go to the
///   file in one write (see wal_writes.c).
/// SQLITE_OK, or the first error (the settings that failed are simply not in effect).
int filmd_sqlite_configure(void);

/// Tests only (wal_faults.c): the open WAL file of `db`'s main database lets its next
/// `successes` real writes reach the file (all of them when negative) and fails every later
/// one with `code`, as a full or failing disk would. Returns how many writes it has failed on
/// this file so far, or -1 when `db` has no WAL file of filmd's VFS open.
int filmd_sqlite_test_fail_wal_writes(sqlite3 *db, int successes, int code);

#endif
