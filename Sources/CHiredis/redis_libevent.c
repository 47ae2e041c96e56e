// filmd's own libevent adapter for hiredis 0.14.1, instead of <hiredis/adapters/libevent.h>,
// which lacks two later fixes: its events are not EV_PERSIST (every read re-adds the event),
// and a connection freed inside its own callback must not be touched afterwards. Here the
// events persist, add/del are idempotent, and nothing touches the adapter after handing
// control to hiredis (which may free it, through `cleanup`, before returning).
#include "CHiredis.h"

#include <event2/event.h>
#include <stdlib.h>

struct filmd_redis {
    redisAsyncContext *context;
    struct event *read_event, *write_event;
    int reading, writing;
    int closed;
    void *owner;
    filmd_redis_reply_fn on_reply;
    filmd_redis_state_fn on_state;
};

static void on_readable(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    redisAsyncHandleRead(((filmd_redis *)arg)->context);  // may free arg
}

static void on_writable(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    redisAsyncHandleWrite(((filmd_redis *)arg)->context);  // may free arg
}

static void add_read(void *data) {
    filmd_redis *r = data;
    if (!r->reading) { r->reading = 1; event_add(r->read_event, NULL); }
}

static void del_read(void *data) {
    filmd_redis *r = data;
    if (r->reading) { r->reading = 0; event_del(r->read_event); }
}

static void add_write(void *data) {
    filmd_redis *r = data;
    if (!r->writing) { r->writing = 1; event_add(r->write_event, NULL); }
}

static void del_write(void *data) {
    filmd_redis *r = data;
    if (r->writing) { r->writing = 0; event_del(r->write_event); }
}

// hiredis frees the context after this; every way a connection ends comes through here once.
static void cleanup(void *data) {
    filmd_redis *r = data;
    event_free(r->read_event);
    event_free(r->write_event);
    free(r);
}

static void on_connect(const redisAsyncContext *context, int status) {
    filmd_redis *r = context->ev.data;
    // On failure hiredis frees the context next, without the disconnect callback.
    if (r->closed) return;
    if (status != REDIS_OK) r->closed = 1;
    r->on_state(r->owner, status == REDIS_OK);
}

static void on_disconnect(const redisAsyncContext *context, int status) {
    (void)status;
    filmd_redis *r = context->ev.data;
    if (r->closed) return;
    r->closed = 1;
    r->on_state(r->owner, 0);
}

static void on_command_reply(redisAsyncContext *context, void *reply, void *tag) {
    filmd_redis *r = context->ev.data;
    if (!r->closed) r->on_reply(r->owner, (uint64_t)(uintptr_t)tag, reply);
}

filmd_redis *filmd_redis_connect(struct event_base *base, const char *host, int port, const char *path,
                                 void *owner, filmd_redis_reply_fn on_reply, filmd_redis_state_fn on_state) {
    redisAsyncContext *context = path ? redisAsyncConnectUnix(path) : redisAsyncConnect(host, port);
    if (!context) return NULL;
    if (context->err) { redisAsyncFree(context); return NULL; }
    filmd_redis *r = calloc(1, sizeof *r);
    if (!r) { redisAsyncFree(context); return NULL; }
    r->context = context;
    r->owner = owner;
    r->on_reply = on_reply;
    r->on_state = on_state;
    r->read_event = event_new(base, context->c.fd, EV_READ | EV_PERSIST, on_readable, r);
    r->write_event = event_new(base, context->c.fd, EV_WRITE | EV_PERSIST, on_writable, r);
    if (!r->read_event || !r->write_event) {
        if (r->read_event) event_free(r->read_event);
        if (r->write_event) event_free(r->write_event);
        free(r);
        redisAsyncFree(context);
        return NULL;
    }
    context->ev.data = r;
    context->ev.addRead = add_read;
    context->ev.delRead = del_read;
    context->ev.addWrite = add_write;
    context->ev.delWrite = del_write;
    context->ev.cleanup = cleanup;
    redisAsyncSetConnectCallback(context, on_connect);
    redisAsyncSetDisconnectCallback(context, on_disconnect);
    // hiredis learns the connection is up from the first write event.
    add_read(r);
    add_write(r);
    return r;
}

int filmd_redis_command(filmd_redis *redis, uint64_t tag, int argc, const char **argv, const size_t *argvlen) {
    if (redis->closed) return -1;
    return redisAsyncCommandArgv(redis->context, on_command_reply, (void *)(uintptr_t)tag, argc, argv, argvlen) == REDIS_OK ? 0 : -1;
}

void filmd_redis_close(filmd_redis *redis) {
    if (redis->closed) return;
    redis->closed = 1;
    redisAsyncFree(redis->context);  // pending replies are answered NULL, to nobody; then `cleanup`
}
