#ifndef FILMD_CHIREDIS_SHIM_H
#define FILMD_CHIREDIS_SHIM_H

// hiredis, Redis's C client (Debian's libhiredis-dev 0.14.1: no async timeouts, no reconnect).
// The libevent adapter (hiredis/adapters/libevent.h, static functions) is left to the wrapper that
// attaches a connection to a loop.
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#endif
