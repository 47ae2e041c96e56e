// Process-wide memory tuning for the server (mallopt and madvise are not visible to Swift).
#define _GNU_SOURCE 1
#include "CLibEvent.h"
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

// Through a volatile pointer: the compiler otherwise turns malloc-then-memset back into calloc.
static void *(*volatile zero_fill)(void *, int, size_t) = memset;

// glibc 2.36's calloc never takes a chunk from the thread's cache (tcache): each call goes
// to the arena, and the chunks it hands out, freed later, overflow the cache's seven slots per
// size into the slower bins. evhttp callocs a dozen small blocks per request. Measured again
// for issue 14: plain calloc costs 2.0k instructions more per GET / (BENCHMARKS.md item 36).
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
