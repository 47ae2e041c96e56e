#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro casting -1 to a function pointer; Swift cannot import it.
static inline sqlite3_destructor_type filmd_sqlite_transient(void) { return SQLITE_TRANSIENT; }

// Process-wide settings, before SQLite initialises (the first connection): memory statistics
// off, since with them every allocation SQLite makes takes a process-wide mutex (sixteen per
// GET /) and filmd never reads them. SQLITE_MISUSE when SQLite was already initialised.
static inline int filmd_sqlite_configure(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
