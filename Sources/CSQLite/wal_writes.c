// WAL appends gathered into one write per transaction. SQLite writes each WAL frame as two
// pwrite calls, a 24-byte header and the page, so a vote (three pages) made six system calls
// and each went through the filesystem's per-page write path: a third of the store thread's
// time. This VFS wraps the system's and, for WAL files only, keeps consecutive appends in a
// buffer that reaches the file:
// - when the page of a commit frame has been appended (the transaction is complete), so a
//   failed write fails the commit and is never acknowledged;
// - before anything else touches the file (read, sync, truncate, size, close, locks, file
//   controls), before a write that does not follow the buffer, and when the buffer is full.
// Every write's failure must reach SQLite through a method whose result it checks before the
// commit counts. SQLite publishes a commit (sqlite3WalFrames: frames written, the WAL synced
// with synchronous=FULL, then walIndexAppend and walIndexWriteHdr around xShmBarrier, which
// returns void) only after its commit frame, but it may write more before it publishes: the
// checksums of frames it overwrote in place (walRewriteChecksums, the commit frame's header
// last) and, without powersafe overwrite, padding. So only a write transaction's writes up to
// its commit frame are gathered: gathering starts when the connection takes the WAL write
// lock and stops once the commit frame is flushed; every other write goes to the file at once
// and returns its own result. The flush in xShmBarrier is then always empty; should it ever
// fail, the WAL file keeps the error and returns it from every later use, first from the
// COMMIT's SQLITE_FCNTL_COMMIT_PHASETWO, so the COMMIT fails and the connection stops there.
// Database files and journals are passed through untouched.
#include "CSQLite.h"
#include "wal_file.h"
#include <stdlib.h>
#include <string.h>

// The system VFS writes at most 128 KiB - 1 per call (it masks the size to 17 bits, and a
// masked size of 0 reads as a full disk): the buffer stays below that.
enum { buffer_limit = 64 * 1024, frame_header_size = 24, wal_header_size = 32, wal_write_lock = 0 };

static sqlite3_vfs *system_vfs;

static sqlite3_file *real(filmd_file *file) { return filmd_real_file(file); }

static int flush(filmd_file *file) {
    if (file == NULL) return SQLITE_OK;
    if (file->failed != SQLITE_OK) {  // a flush that failed where SQLite could not hear of it
        file->length = 0;
        return file->failed;
    }
    if (file->length == 0) return SQLITE_OK;
    sqlite3_file *target = real(file);
    int rc = target->pMethods->xWrite(target, file->buffer, (int)file->length, file->offset);
    file->length = 0;
    return rc;
}

static int flush_wal_of(filmd_file *database) { return database->is_wal ? SQLITE_OK : flush(database->wal); }

// The file's own buffer and, for a database file, its WAL's: before any other use of either.
static int flush_all(filmd_file *file) {
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : flush_wal_of(file);
}

static unsigned int big_endian_32(const unsigned char *bytes) {
    return (unsigned int)bytes[0] << 24 | (unsigned int)bytes[1] << 16 | (unsigned int)bytes[2] << 8 | bytes[3];
}

static int file_close(sqlite3_file *base) {
    filmd_file *file = (filmd_file *)base;
    int rc = flush(file);
    if (file->is_wal && file->database != NULL) file->database->wal = NULL;
    if (!file->is_wal && file->wal != NULL) file->wal->database = NULL;
    free(file->buffer);
    file->buffer = NULL;
    int closed = real(file)->pMethods->xClose(real(file));
    free(file->fault);  // after the close: its methods were the real file's until then
    file->fault = NULL;
    return rc != SQLITE_OK ? rc : closed;
}

static int file_read(sqlite3_file *base, void *data, int amount, sqlite3_int64 offset) {
    filmd_file *file = (filmd_file *)base;
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : real(file)->pMethods->xRead(real(file), data, amount, offset);
}

static int append(filmd_file *file, const void *data, int amount, sqlite3_int64 offset) {
    if (file->length > 0 && offset != file->offset + (sqlite3_int64)file->length) {
        int rc = flush(file);
        if (rc != SQLITE_OK) return rc;
    }
    if (file->length + (size_t)amount > buffer_limit) {
        int rc = flush(file);
        if (rc != SQLITE_OK) return rc;
    }
    if ((size_t)amount > buffer_limit) return real(file)->pMethods->xWrite(real(file), data, amount, offset);
    if (file->length + (size_t)amount > file->capacity) {
        size_t capacity = file->capacity ? file->capacity : 8 * 1024;
        while (capacity < file->length + (size_t)amount) capacity *= 2;
        unsigned char *grown = realloc(file->buffer, capacity);
        if (grown == NULL) {  // no memory for the buffer: write through
            int rc = flush(file);
            return rc != SQLITE_OK ? rc : real(file)->pMethods->xWrite(real(file), data, amount, offset);
        }
        file->buffer = grown;
        file->capacity = capacity;
    }
    if (file->length == 0) file->offset = offset;
    memcpy(file->buffer + file->length, data, (size_t)amount);
    file->length += (size_t)amount;
    return SQLITE_OK;
}

// Straight to the file, after what the buffer holds: the write's result is its own.
static int write_through(filmd_file *file, const void *data, int amount, sqlite3_int64 offset) {
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : real(file)->pMethods->xWrite(real(file), data, amount, offset);
}

static int file_write(sqlite3_file *base, const void *data, int amount, sqlite3_int64 offset) {
    filmd_file *file = (filmd_file *)base;
    if (!file->is_wal) return real(file)->pMethods->xWrite(real(file), data, amount, offset);
    if (!file->gathering) return write_through(file, data, amount, offset);
    // A frame header's second word is the database size after a commit frame, 0 otherwise.
    int header = amount == frame_header_size && offset >= wal_header_size;
    int completes = !header && file->commit_frame;
    if (header) file->commit_frame = big_endian_32((const unsigned char *)data + 4) != 0;
    if (completes) file->commit_frame = 0;
    int rc = append(file, data, amount, offset);
    if (rc != SQLITE_OK || !completes) return rc;
    file->gathering = 0;  // what SQLite writes after the commit frame goes through at once
    return flush(file);
}

static int file_truncate(sqlite3_file *base, sqlite3_int64 size) {
    filmd_file *file = (filmd_file *)base;
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : real(file)->pMethods->xTruncate(real(file), size);
}

static int file_sync(sqlite3_file *base, int flags) {
    filmd_file *file = (filmd_file *)base;
    int rc = flush_all(file);
    return rc != SQLITE_OK ? rc : real(file)->pMethods->xSync(real(file), flags);
}

static int file_size(sqlite3_file *base, sqlite3_int64 *size) {
    filmd_file *file = (filmd_file *)base;
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : real(file)->pMethods->xFileSize(real(file), size);
}

static int file_lock(sqlite3_file *base, int level) {
    filmd_file *file = (filmd_file *)base;
    int rc = flush_all(file);
    return rc != SQLITE_OK ? rc : real(file)->pMethods->xLock(real(file), level);
}

static int file_unlock(sqlite3_file *base, int level) {
    filmd_file *file = (filmd_file *)base;
    int rc = flush_all(file);
    return rc != SQLITE_OK ? rc : real(file)->pMethods->xUnlock(real(file), level);
}

static int file_check_reserved_lock(sqlite3_file *base, int *reserved) {
    filmd_file *file = (filmd_file *)base;
    return real(file)->pMethods->xCheckReservedLock(real(file), reserved);
}

static int file_control(sqlite3_file *base, int op, void *argument) {
    filmd_file *file = (filmd_file *)base;
    int rc = flush_all(file);
    return rc != SQLITE_OK ? rc : real(file)->pMethods->xFileControl(real(file), op, argument);
}

static int file_sector_size(sqlite3_file *base) {
    return real((filmd_file *)base)->pMethods->xSectorSize(real((filmd_file *)base));
}

static int file_device_characteristics(sqlite3_file *base) {
    return real((filmd_file *)base)->pMethods->xDeviceCharacteristics(real((filmd_file *)base));
}

static int file_shm_map(sqlite3_file *base, int region, int size, int extend, void volatile **memory) {
    filmd_file *file = (filmd_file *)base;
    return real(file)->pMethods->xShmMap(real(file), region, size, extend, memory);
}

static int file_shm_lock(sqlite3_file *base, int offset, int n, int flags) {
    filmd_file *file = (filmd_file *)base;
    int rc = flush_wal_of(file);
    if (rc == SQLITE_OK) rc = real(file)->pMethods->xShmLock(real(file), offset, n, flags);
    // Slot 0 of the shared-memory locks is the WAL write lock (WAL_WRITE_LOCK in wal.c): a
    // write transaction begins, its frames may be gathered up to its commit frame.
    if (rc == SQLITE_OK && offset == wal_write_lock && !file->is_wal && file->wal != NULL) {
        file->wal->gathering = (flags & (SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE)) == (SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE);
    }
    return rc;
}

// The commit becomes visible around this barrier: the frames must be in the file before.
// Nothing is gathered by then (see the top of this file); if something were and its write
// failed, the WAL keeps the error, since this method cannot return it.
static void file_shm_barrier(sqlite3_file *base) {
    filmd_file *file = (filmd_file *)base;
    int rc = flush_wal_of(file);
    if (rc != SQLITE_OK && file->wal != NULL) file->wal->failed = rc;
    real(file)->pMethods->xShmBarrier(real(file));
}

static int file_shm_unmap(sqlite3_file *base, int delete_flag) {
    filmd_file *file = (filmd_file *)base;
    return real(file)->pMethods->xShmUnmap(real(file), delete_flag);
}

static int file_fetch(sqlite3_file *base, sqlite3_int64 offset, int amount, void **pointer) {
    filmd_file *file = (filmd_file *)base;
    if (real(file)->pMethods->iVersion < 3) {
        *pointer = NULL;
        return SQLITE_OK;
    }
    int rc = flush(file);
    return rc != SQLITE_OK ? rc : real(file)->pMethods->xFetch(real(file), offset, amount, pointer);
}

static int file_unfetch(sqlite3_file *base, sqlite3_int64 offset, void *pointer) {
    filmd_file *file = (filmd_file *)base;
    if (real(file)->pMethods->iVersion < 3) return SQLITE_OK;
    return real(file)->pMethods->xUnfetch(real(file), offset, pointer);
}

const sqlite3_io_methods filmd_io_methods = {
    3, file_close, file_read, file_write, file_truncate, file_sync, file_size, file_lock, file_unlock,
    file_check_reserved_lock, file_control, file_sector_size, file_device_characteristics,
    file_shm_map, file_shm_lock, file_shm_barrier, file_shm_unmap, file_fetch, file_unfetch,
};

static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *base, int flags, int *out_flags) {
    (void)vfs;
    filmd_file *file = (filmd_file *)base;
    memset(file, 0, sizeof *file);
    int rc = system_vfs->xOpen(system_vfs, name, real(file), flags, out_flags);
    if (real(file)->pMethods == NULL) {
        file->base.pMethods = NULL;
        return rc;
    }
    file->base.pMethods = &filmd_io_methods;
    if ((flags & SQLITE_OPEN_WAL) && name != NULL) {
        file->is_wal = 1;
        filmd_file *database = (filmd_file *)sqlite3_database_file_object(name);
        if (database != NULL && database->base.pMethods == &filmd_io_methods) {
            file->database = database;
            database->wal = file;
        }
    }
    return rc;
}

// The rest is the system VFS's own, called with itself.
static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
    (void)vfs;
    return system_vfs->xDelete(system_vfs, name, sync_dir);
}
static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *result) {
    (void)vfs;
    return system_vfs->xAccess(system_vfs, name, flags, result);
}
static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    return system_vfs->xFullPathname(system_vfs, name, size, out);
}
static void *vfs_dl_open(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return system_vfs->xDlOpen(system_vfs, name);
}
static void vfs_dl_error(sqlite3_vfs *vfs, int size, char *message) {
    (void)vfs;
    system_vfs->xDlError(system_vfs, size, message);
}
static void (*vfs_dl_sym(sqlite3_vfs *vfs, void *library, const char *symbol))(void) {
    (void)vfs;
    return system_vfs->xDlSym(system_vfs, library, symbol);
}
static void vfs_dl_close(sqlite3_vfs *vfs, void *library) {
    (void)vfs;
    system_vfs->xDlClose(system_vfs, library);
}
static int vfs_randomness(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return system_vfs->xRandomness(system_vfs, size, out);
}
static int vfs_sleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return system_vfs->xSleep(system_vfs, microseconds);
}
static int vfs_current_time(sqlite3_vfs *vfs, double *now) {
    (void)vfs;
    return system_vfs->xCurrentTime(system_vfs, now);
}
static int vfs_last_error(sqlite3_vfs *vfs, int size, char *message) {
    (void)vfs;
    return system_vfs->xGetLastError ? system_vfs->xGetLastError(system_vfs, size, message) : 0;
}
static int vfs_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *now) {
    (void)vfs;
    return system_vfs->xCurrentTimeInt64(system_vfs, now);
}

static sqlite3_vfs filmd_vfs;

int filmd_sqlite_configure(void) {
    int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);  // before anything initialises SQLite
    system_vfs = sqlite3_vfs_find(NULL);
    if (system_vfs == NULL || system_vfs->iVersion < 2) return rc != SQLITE_OK ? rc : SQLITE_ERROR;
    filmd_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(filmd_file) + system_vfs->szOsFile,
        .mxPathname = system_vfs->mxPathname,
        .zName = "filmd",
        .xOpen = vfs_open,
        .xDelete = vfs_delete,
        .xAccess = vfs_access,
        .xFullPathname = vfs_full_pathname,
        .xDlOpen = vfs_dl_open,
        .xDlError = vfs_dl_error,
        .xDlSym = vfs_dl_sym,
        .xDlClose = vfs_dl_close,
        .xRandomness = vfs_randomness,
        .xSleep = vfs_sleep,
        .xCurrentTime = vfs_current_time,
        .xGetLastError = vfs_last_error,
        .xCurrentTimeInt64 = vfs_current_time_int64,
    };
    int registered = sqlite3_vfs_register(&filmd_vfs, 1);
    return rc != SQLITE_OK ? rc : registered;
}
