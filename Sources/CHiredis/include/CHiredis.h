#ifndef FILMD_CHIREDIS_H
#define FILMD_CHIREDIS_H

// hiredis 0.14.1 (Debian 12) driven by a libevent event_base: one connection per event loop.
// Everything here runs on the thread of the base the connection is attached to.
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

struct event_base;

/// One asynchronous connection. Opaque: the Swift wrapper holds it, and only until it is told
/// the connection is gone or closes it itself.
typedef struct filmd_redis filmd_redis;

/// A reply to the command sent with `tag`; `reply` is NULL when the connection was lost before
/// it came. The reply is freed when this returns: copy what is needed.
typedef void (*filmd_redis_reply_fn)(void *owner, uint64_t tag, const redisReply *reply);
/// The connection is up (`up` 1), or it failed or was lost (`up` 0, once: from then on no
/// callback of it runs, the replies still pending are the owner's to fail, and the handle is
/// freed right after and must not be used).
typedef void (*filmd_redis_state_fn)(void *owner, int up);

/// Starts connecting to `host`:`port`, or to the Unix socket `path` when `path` is not NULL.
/// Commands may be sent at once (they are written when the connection is up). NULL when the
/// connection cannot even be started (the state callback is not called then).
filmd_redis *filmd_redis_connect(struct event_base *base, const char *host, int port, const char *path,
                                 void *owner, filmd_redis_reply_fn on_reply, filmd_redis_state_fn on_state);

/// Queues one command (pipelined: everything queued in one loop iteration goes out in one
/// write). 0 when queued, -1 when the connection cannot take it.
int filmd_redis_command(filmd_redis *redis, uint64_t tag, int argc, const char **argv, const size_t *argvlen);

/// Closes the connection and frees it; no callback of it runs afterwards. Safe inside one of
/// its own callbacks (hiredis then frees it when the callback returns).
void filmd_redis_close(filmd_redis *redis);

#endif
