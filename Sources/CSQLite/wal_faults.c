// Tests only: makes the real writes of one connection's WAL file fail, as a full or failing
// disk would, underneath filmd's write gathering (wal_writes.c). Installed by swapping the
// real file's method table for a copy whose xWrite counts, so production files never run
// any of this: nothing here is on the write path unless a test asked for it.
#include "CSQLite.h"
#include "wal_file.h"
#include <stdlib.h>

struct filmd_fault {
    sqlite3_io_methods methods;          // the real file's, xWrite replaced
    const sqlite3_io_methods *original;  // the real file's own
    int successes;                       // writes still let through; < 0: all of them
    int code;                            // what a failed write returns
    int failed;                          // writes failed so far
};

static int faulty_write(sqlite3_file *target, const void *data, int amount, sqlite3_int64 offset) {
    filmd_fault *fault = ((filmd_file *)target - 1)->fault;  // our object precedes the real one
    if (fault->successes == 0) {
        fault->failed += 1;
        return fault->code;
    }
    if (fault->successes > 0) fault->successes -= 1;
    return fault->original->xWrite(target, data, amount, offset);
}

int filmd_sqlite_test_fail_wal_writes(sqlite3 *db, int successes, int code) {
    sqlite3_file *journal = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &journal) != SQLITE_OK) return -1;
    if (journal == NULL || journal->pMethods != &filmd_io_methods) return -1;
    filmd_file *wal = (filmd_file *)journal;
    if (!wal->is_wal) return -1;
    sqlite3_file *target = filmd_real_file(wal);
    if (wal->fault == NULL) {
        filmd_fault *fault = calloc(1, sizeof *fault);
        if (fault == NULL) return -1;
        fault->original = target->pMethods;
        fault->methods = *target->pMethods;
        fault->methods.xWrite = faulty_write;
        wal->fault = fault;
        target->pMethods = &fault->methods;
    }
    wal->fault->successes = successes;
    wal->fault->code = code;
    return wal->fault->failed;
}
