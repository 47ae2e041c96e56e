// Process-wide allocator tuning for the server (glibc's mallopt is not visible to Swift).
#include "CLibEvent.h"
#include <malloc.h>

void filmd_keep_freed_memory(size_t bytes) {
    mallopt(M_TRIM_THRESHOLD, (int)bytes);
}
