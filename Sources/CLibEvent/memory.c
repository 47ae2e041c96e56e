// Process-wide memory tuning for the server (mallopt and madvise are not visible to Swift).
#define _GNU_SOURCE 1
#include "CLibEvent.h"
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

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
