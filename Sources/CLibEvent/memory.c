// Process-wide memory tuning for the server (mallopt and madvise are not visible to Swift).
#define _GNU_SOURCE 1
#include "CLibEvent.h"
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

// Through a volatile pointer: the compiler otherwise turns malloc-then-memset back into calloc.
static void *(*volatile zero_fill)(void *, int, size_t) = memset;

// glibc 2.36's calloc never takes a chunk from the thread's cache (tcache): each call goes
// to the arena, and the chunks it hands out, freed later, overflow the cache's seven slots per
// size into the slower bins. evhttp callocs a dozen small blocks per request.
void *filmd_zeroed_alloc(size_t bytes) {
    void *block = malloc(bytes);
    if (block != NULL) zero_fill(block, 0, bytes);
    return block;
}

void filmd_libevent_use_malloc(void) {
    // With its own functions set, libevent's calloc is malloc and memset (its strdup malloc
    // and memcpy). Before any libevent call: memory must be freed by the family that made it,
    // and these are libc's own malloc, realloc and free anyway.
    event_set_mem_functions(malloc, realloc, free);
}

void filmd_keep_freed_memory(size_t bytes) {
    mallopt(M_TRIM_THRESHOLD, (int)bytes);
}

long filmd_release_startup_pages(void) {
    FILE *maps = fopen("/proc/self/maps", "re");
    if (maps == NULL) return -1;
    char line[4096];
    long released = 0;
    while (fgets(line, sizeof line, maps) != NULL) {
        unsigned long start, end;
        char permissions[8];
        int path_offset = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, permissions, &path_offset) < 3) continue;
        // Read-only or executable file mappings only: clean pages the kernel can drop and
        // read back. Writable or anonymous memory is left alone.
        if (path_offset == 0 || line[path_offset] != '/' || permissions[1] == 'w') continue;
        if (madvise((void *)start, end - start, MADV_PAGEOUT) == 0) released += (long)(end - start);
    }
    fclose(maps);
    return released;
}

// glibc keeps 7 freed chunks per size per thread (tcache); a request frees ~30 blocks of one
// small size at its end (evhttp's header strings above all), so most overflow to the arena and
// the next request takes them back the slow way. The count can only be set through the
// environment, which the dynamic loader reads before main: hence one exec of ourselves.
static const char tcache_tunable[] = "glibc.malloc.tcache_count=64";

int filmd_exec_with_larger_malloc_cache(void) {
    const char *found = getenv("GLIBC_TUNABLES");
    if (found != NULL && strstr(found, "glibc.malloc.tcache_count") != NULL) return 0;  // set already: done, or the operator's choice
    char previous[4096] = "";
    if (found != NULL && snprintf(previous, sizeof previous, "%s", found) >= (int)sizeof previous) return -1;
    FILE *file = fopen("/proc/self/cmdline", "re");
    if (file == NULL) return -1;
    char arguments[65536];
    size_t length = fread(arguments, 1, sizeof arguments - 1, file);
    int complete = feof(file) && !ferror(file);
    fclose(file);
    if (!complete || length == 0) return -1;
    arguments[length] = '\0';
    enum { max_arguments = 256 };
    char *argv[max_arguments + 1];
    int argc = 0;
    for (size_t at = 0; at < length && argc < max_arguments; at += strlen(arguments + at) + 1) argv[argc++] = arguments + at;
    if (argc == max_arguments) return -1;
    argv[argc] = NULL;
    // The binary by its path, not as /proc/self/exe: the process takes its name (ps, top,
    // pidof) from the file executed. A binary replaced since it started ends in " (deleted)"
    // and fails to execute: then nothing changes.
    char path[4096];
    ssize_t path_length = readlink("/proc/self/exe", path, sizeof path - 1);
    if (path_length <= 0 || (size_t)path_length >= sizeof path - 1) return -1;
    path[path_length] = '\0';
    char value[8192];
    int written = previous[0] != '\0' ? snprintf(value, sizeof value, "%s:%s", tcache_tunable, previous)
                                      : snprintf(value, sizeof value, "%s", tcache_tunable);
    if (written < 0 || (size_t)written >= sizeof value || setenv("GLIBC_TUNABLES", value, 1) != 0) return -1;
    execv(path, argv);
    // Still here: the exec failed. Put the variable back as it was, for any child process.
    if (found != NULL) setenv("GLIBC_TUNABLES", previous, 1);
    else unsetenv("GLIBC_TUNABLES");
    return -1;  // carry on with glibc's default cache
}
