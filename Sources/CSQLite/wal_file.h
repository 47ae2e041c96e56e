// The file object of filmd's VFS (wal_writes.c), shared with its test-only fault hook
// (wal_faults.c). Not part of the module's public header.
#ifndef FILMD_WAL_FILE_H
#define FILMD_WAL_FILE_H

#include <sqlite3.h>
#include <stddef.h>

typedef struct filmd_fault filmd_fault;
typedef struct filmd_file filmd_file;
struct filmd_file {
    sqlite3_file base;
    filmd_file *wal;       // database file: its connection's open WAL file, if any
    filmd_file *database;  // WAL file: the database file it belongs to
    int is_wal;
    int commit_frame;      // WAL file: the last header appended was a commit frame's
    int gathering;         // WAL file: writes up to the commit frame go to the buffer
    int failed;            // WAL file: a flush SQLite could not hear of failed with this
    unsigned char *buffer;
    size_t length, capacity;
    sqlite3_int64 offset;  // of buffer[0] in the file
    filmd_fault *fault;    // tests only (wal_faults.c); NULL otherwise
};

// The real file object is placed right after this one: keep it 8-byte aligned.
_Static_assert(sizeof(filmd_file) % 8 == 0, "filmd_file must keep the real file aligned");

// The system VFS's file object follows ours in the same allocation.
static inline sqlite3_file *filmd_real_file(filmd_file *file) { return (sqlite3_file *)(file + 1); }

extern const sqlite3_io_methods filmd_io_methods;

#endif
