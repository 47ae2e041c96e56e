#define _GNU_SOURCE 1
// The guard around libevent 2.1's HTTP server: what evhttp cannot be told to do, done by
// interposing some of its exported functions. libevent calls them through its PLT, so the
// definitions in this executable win; each forwards to the real one found with RTLD_NEXT.
// This file: the servers, the watch over each request until it is complete (deadlines,
// framing, refusals) and libevent's error page. listeners.c: accepting connections;
// framing.c and head_parsing.c: what a request's bytes may be.
#include "guard_internal.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static struct filmd_server servers[FILMD_MAX_SERVERS];

__thread struct filmd_server *filmd_accepting;

static struct evhttp_request *(*real_request_new)(void (*)(struct evhttp_request *, void *), void *);
static void (*real_request_free)(struct evhttp_request *);
static void (*real_connection_free)(struct evhttp_connection *);
static void (*real_send_error)(struct evhttp_request *, int, const char *);

static void resolve_real_functions(void) {
    if (real_request_new) return;
    real_request_free = (void (*)(struct evhttp_request *))dlsym(RTLD_NEXT, "evhttp_request_free");
    real_connection_free = (void (*)(struct evhttp_connection *))dlsym(RTLD_NEXT, "evhttp_connection_free");
    real_send_error = (void (*)(struct evhttp_request *, int, const char *))dlsym(RTLD_NEXT, "evhttp_send_error");
    real_request_new = (struct evhttp_request *(*)(void (*)(struct evhttp_request *, void *), void *))
        dlsym(RTLD_NEXT, "evhttp_request_new");
    if (!real_request_new || !real_request_free || !real_connection_free || !real_send_error) abort();
}

struct filmd_server *filmd_server_for(const struct evhttp *http) {
    if (http == NULL) return NULL;
    for (int i = 0; i < FILMD_MAX_SERVERS; i++)
        if (servers[i].http == http) return &servers[i];
    return NULL;
}

static long monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void watched_callback(struct evhttp_request *req, void *arg);
static int head_complete(struct evhttp_request *req, void *arg);

struct filmd_watch *filmd_watch_of(struct evhttp_request *req) {
    return req != NULL && req->cb == watched_callback ? req->cb_arg : NULL;
}

// Takes the request back from the guard: the callback slot is restored, the record freed.
static void release_watch(struct evhttp_request *req, struct filmd_watch *w) {
    if (w->prev) w->prev->next = w->next; else if (w->server->watched == w) w->server->watched = w->next;
    if (w->next) w->next->prev = w->prev;
    if (w->head_done) w->server->receiving--;
    req->cb = w->callback;
    req->cb_arg = w->callback_arg;
    free(w);
}

// Refuses a request whose head is complete, through the server's hook, as libevent's own
// dispatch would hand it over: no more reading, the user owes the reply.
static void refuse_request(struct filmd_server *s, struct evhttp_request *req, int status) {
    req->userdone = 0;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(req->evcon);
    if (bev) bufferevent_disable(bev, EV_READ);
    s->hooks.refuse(req, status, s->hooks.context);
}

// The request is complete (or libevent failed it): the guard steps aside.
static void watched_callback(struct evhttp_request *req, void *arg) {
    struct filmd_watch *w = arg;
    struct filmd_server *s = w->server;
    void (*callback)(struct evhttp_request *, void *) = w->callback;
    void *callback_arg = w->callback_arg;
    int refusal = w->refusal;
    release_watch(req, w);
    if (refusal != 0 && req->uri != NULL && req->evcon != NULL) {
        refuse_request(s, req, refusal);  // the head parsed, its framing did not pass
        return;
    }
    // libevent failed the request (its URI freed): it answers `response_code` through
    // evhttp_send_error, which the guard hands to the hook. Say why, where the guard knows.
    if (refusal != 0) req->response_code = refusal;
    else if (filmd_chunk_size_refused && req->uri == NULL) req->response_code = 400;
    filmd_chunk_size_refused = 0;
    callback(req, callback_arg);
}

// The head is complete: the request's framing decides whether its body may be read.
static int head_complete(struct evhttp_request *req, void *arg) {
    struct filmd_watch *w = arg;
    w->head_done = 1;
    w->server->receiving++;
    const char *expect = evhttp_find_header(req->input_headers, "Expect");
    if (expect && strcasecmp(expect, "100-continue") != 0)
        evhttp_remove_header(req->input_headers, "Expect");
    int close_after = 0;
    int refusal = filmd_check_framing(req, &close_after);
    if (refusal != 0) {
        // No body is read (libevent now sees none); the refusal closes the connection.
        w->refusal = refusal;
        while (evhttp_remove_header(req->input_headers, "Transfer-Encoding") == 0) {}
        while (evhttp_remove_header(req->input_headers, "Content-Length") == 0) {}
        evhttp_remove_header(req->input_headers, "Expect");
        close_after = 1;
    }
    if (close_after) filmd_request_close_after_reply(req);
    return 0;
}

static int has_arrived(struct evhttp_request *req) {
    if (req->headers_size > 0) return 1;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(req->evcon);
    return bev && evbuffer_get_length(bufferevent_get_input(bev)) > 0;
}

// Enforces the deadlines, counted from a request's first byte (or from the accept for a
// connection's first request): an incomplete head is cut off, a body still arriving is
// answered 408. An idle keep-alive connection is the idle timeout's business.
static void sweep(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    struct filmd_server *s = arg;
    long now = monotonic_ms();
    long head_limit = s->limits.header_timeout_ms;
    long request_limit = s->limits.request_timeout_ms;
    if (request_limit > 0 && (head_limit <= 0 || request_limit < head_limit)) head_limit = request_limit;
    struct filmd_watch *w = s->watched;
    while (w) {
        struct filmd_watch *next = w->next;
        struct evhttp_request *req = w->req;
        if (req->evcon == NULL) {
            // detached by libevent (the client went away): nothing to time
        } else if (w->started_ms == 0) {
            if (has_arrived(req)) w->started_ms = now;
        } else if (!w->head_done) {
            if (head_limit > 0 && now - w->started_ms >= head_limit)
                evhttp_connection_free(req->evcon);  // frees req, which releases w
        } else if (request_limit > 0 && now - w->started_ms >= request_limit) {
            release_watch(req, w);
            filmd_request_close_after_reply(req);
            refuse_request(s, req, 408);
        }
        w = next;
    }
}

static void schedule_sweep(struct filmd_server *s) {
    if (s->sweep == NULL) return;
    event_del(s->sweep);
    long shortest = s->limits.header_timeout_ms;
    if (s->limits.request_timeout_ms > 0 && (shortest <= 0 || s->limits.request_timeout_ms < shortest))
        shortest = s->limits.request_timeout_ms;
    if (shortest <= 0) return;
    long every = shortest / 4;
    if (every < 50) every = 50;
    if (every > 1000) every = 1000;
    struct timeval tv = { every / 1000, (every % 1000) * 1000 };
    event_add(s->sweep, &tv);
}

struct evhttp_request *evhttp_request_new(void (*cb)(struct evhttp_request *, void *), void *arg) {
    filmd_seam_reached |= filmd_seam_request_new;
    resolve_real_functions();
    struct evhttp_request *req = real_request_new(cb, arg);
    struct filmd_server *s = filmd_server_for((struct evhttp *)arg);
    if (req == NULL || s == NULL) return req;
    struct filmd_watch *w = filmd_zeroed_alloc(sizeof *w);
    if (w == NULL) {
        real_request_free(req);  // no request unwatched: libevent drops the connection
        return NULL;
    }
    w->server = s;
    w->req = req;
    w->callback = req->cb;
    w->callback_arg = req->cb_arg;
    if (filmd_accepting == s) w->started_ms = monotonic_ms();
    w->next = s->watched;
    if (s->watched) s->watched->prev = w;
    s->watched = w;
    req->cb = watched_callback;
    req->cb_arg = w;
    evhttp_request_set_header_cb(req, head_complete);
    return req;
}

static void reply_written(struct evhttp_request *req, void *arg) {
    struct filmd_server *s = arg;
    req->on_complete_cb = NULL;  // counted once: the request is freed right after
    s->sending--;
}

// A reply counts as in flight until libevent has written it: a drain that stopped the loop
// as soon as the handler answered could leave the last reply unsent.
void filmd_http_send_reply(struct evhttp_request *req, int code, const char *reason) {
    struct filmd_server *s = req->evcon ? filmd_server_for(evhttp_connection_get_server(req->evcon)) : NULL;
    if (s) {
        s->sending++;
        evhttp_request_set_on_complete_cb(req, reply_written, s);
    }
    evhttp_send_reply(req, code, reason, NULL);
}

void evhttp_request_free(struct evhttp_request *req) {
    filmd_seam_reached |= filmd_seam_request_free;
    resolve_real_functions();
    struct filmd_watch *w = filmd_watch_of(req);
    if (w) release_watch(req, w);
    if (req && req->on_complete_cb == reply_written) reply_written(req, req->on_complete_cb_arg);  // never written
    real_request_free(req);
}

void evhttp_connection_free(struct evhttp_connection *evcon) {
    filmd_seam_reached |= filmd_seam_connection_free;
    resolve_real_functions();
    struct filmd_server *s = evcon ? filmd_server_for(evhttp_connection_get_server(evcon)) : NULL;
    if (s) filmd_connection_closing(s, evcon);
    real_connection_free(evcon);
    if (s == NULL) return;
    s->open_connections--;
    if (s->paused && s->open_connections < s->limits.max_connections) filmd_listeners_resume(s);
}

void evhttp_send_error(struct evhttp_request *req, int error, const char *reason) {
    filmd_seam_reached |= filmd_seam_send_error;
    resolve_real_functions();
    struct filmd_server *s = (req && req->evcon) ? filmd_server_for(evhttp_connection_get_server(req->evcon)) : NULL;
    if (s == NULL || s->hooks.refuse == NULL) {
        real_send_error(req, error, reason);
        return;
    }
    s->hooks.refuse(req, error, s->hooks.context);
}

int filmd_http_guard(struct evhttp *http, struct event_base *base, struct filmd_guard_hooks hooks,
                     struct filmd_guard_limits limits, void *tls_context) {
    resolve_real_functions();
    struct filmd_server *s = NULL;
    for (int i = 0; i < FILMD_MAX_SERVERS && !s; i++)
        if (servers[i].http == NULL) s = &servers[i];
    if (s == NULL) return -1;
    memset(s, 0, sizeof *s);
    s->base = base;
    s->hooks = hooks;
    s->tls = tls_context;
    s->sweep = event_new(base, -1, EV_PERSIST, sweep, s);
    s->http = http;
    filmd_http_guard_update(http, limits);
    return 0;
}

void filmd_http_guard_update(struct evhttp *http, struct filmd_guard_limits limits) {
    struct filmd_server *s = filmd_server_for(http);
    if (s == NULL) return;
    s->limits = limits;
    schedule_sweep(s);
    if (s->paused && (limits.max_connections <= 0 || s->open_connections < limits.max_connections))
        filmd_listeners_resume(s);
}

long filmd_http_open_connections(struct evhttp *http) {
    struct filmd_server *s = filmd_server_for(http);
    return s ? s->open_connections : 0;
}

long filmd_http_receiving_bodies(struct evhttp *http) {
    struct filmd_server *s = filmd_server_for(http);
    return s ? s->receiving : 0;
}

long filmd_http_unsent_replies(struct evhttp *http) {
    struct filmd_server *s = filmd_server_for(http);
    return s ? s->sending : 0;
}

void filmd_http_unguard(struct evhttp *http) {
    struct filmd_server *s = filmd_server_for(http);
    if (s == NULL) return;
    filmd_http_guard_stop_listening(http);
    if (s->sweep) event_free(s->sweep);
    while (s->watched) release_watch(s->watched->req, s->watched);
    free(s->peers);
    memset(s, 0, sizeof *s);
}
