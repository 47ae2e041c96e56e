#define _GNU_SOURCE 1
// The guard around libevent 2.1's HTTP server: what evhttp cannot be told to do, done by
// interposing three of its exported functions. libevent calls them through its PLT, so the
// definitions in this executable win; each forwards to the real one found with RTLD_NEXT.
#include "CLibEvent.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/ssl.h>

#define FILMD_MAX_SERVERS 64

struct filmd_pending;

struct filmd_server {
    struct evhttp *http;
    struct event_base *base;
    struct evconnlistener *listener;
    filmd_error_hook hook;
    void *context;
    long header_timeout_ms;
    long max_connections;
    long open_connections;
    int paused;
    struct filmd_pending *pending;  // requests whose head has not fully arrived
    long receiving;                 // requests whose head has arrived and body has not
    struct event *sweep;
    SSL_CTX *tls;
};

// A request of a guarded server from its creation until libevent hands it to the server
// callback. It takes the request's callback slot so that it can be found from the request.
struct filmd_pending {
    struct filmd_pending *prev, *next;
    struct filmd_server *server;
    struct evhttp_request *req;
    void (*callback)(struct evhttp_request *, void *);
    void *callback_arg;
    long first_byte_ms;  // 0 until the sweep sees bytes of this request
    int head_done;       // the head is complete: the request counts as in flight
};

static struct filmd_server servers[FILMD_MAX_SERVERS];

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

static struct filmd_server *server_for(const struct evhttp *http) {
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

static void unlink_pending(struct filmd_pending *p) {
    if (p->prev) p->prev->next = p->next; else if (p->server->pending == p) p->server->pending = p->next;
    if (p->next) p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

// Takes the request back from the guard: the callback slot is restored, the record freed.
static void release_pending(struct evhttp_request *req, struct filmd_pending *p) {
    unlink_pending(p);
    if (p->head_done) p->server->receiving--;
    req->cb = p->callback;
    req->cb_arg = p->callback_arg;
    free(p);
}

static void pending_callback(struct evhttp_request *req, void *arg) {
    struct filmd_pending *p = arg;
    void (*callback)(struct evhttp_request *, void *) = p->callback;
    void *callback_arg = p->callback_arg;
    release_pending(req, p);
    callback(req, callback_arg);
}

// The head is complete: the request leaves the deadline's watch.
static int head_complete(struct evhttp_request *req, void *arg) {
    struct filmd_pending *p = arg;
    unlink_pending(p);
    p->head_done = 1;
    p->server->receiving++;
    const char *expect = evhttp_find_header(req->input_headers, "Expect");
    if (expect && strcasecmp(expect, "100-continue") != 0)
        evhttp_remove_header(req->input_headers, "Expect");
    return 0;
}

static int has_arrived(struct evhttp_request *req) {
    if (req->headers_size > 0) return 1;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(req->evcon);
    return bev && evbuffer_get_length(bufferevent_get_input(bev)) > 0;
}

// Cuts off connections whose request head is still incomplete past the deadline, counted
// from the first byte seen (an idle keep-alive connection is the idle timeout's business).
static void sweep(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    struct filmd_server *s = arg;
    long now = monotonic_ms();
    struct filmd_pending *p = s->pending;
    while (p) {
        struct filmd_pending *next = p->next;
        struct evhttp_request *req = p->req;
        if (req->evcon) {
            if (p->first_byte_ms == 0) {
                if (has_arrived(req)) p->first_byte_ms = now;
            } else if (now - p->first_byte_ms >= s->header_timeout_ms) {
                evhttp_connection_free(req->evcon);  // frees req, which unlinks p
            }
        }
        p = next;
    }
}

struct evhttp_request *evhttp_request_new(void (*cb)(struct evhttp_request *, void *), void *arg) {
    resolve_real_functions();
    struct evhttp_request *req = real_request_new(cb, arg);
    struct filmd_server *s = server_for((struct evhttp *)arg);
    if (req == NULL || s == NULL || s->header_timeout_ms <= 0) return req;
    struct filmd_pending *p = filmd_zeroed_alloc(sizeof *p);
    if (p == NULL) return req;
    p->server = s;
    p->req = req;
    p->callback = req->cb;
    p->callback_arg = req->cb_arg;
    p->next = s->pending;
    if (s->pending) s->pending->prev = p;
    s->pending = p;
    req->cb = pending_callback;
    req->cb_arg = p;
    evhttp_request_set_header_cb(req, head_complete);
    return req;
}

void evhttp_request_free(struct evhttp_request *req) {
    resolve_real_functions();
    if (req && req->cb == pending_callback) release_pending(req, req->cb_arg);
    real_request_free(req);
}

void evhttp_connection_free(struct evhttp_connection *evcon) {
    resolve_real_functions();
    struct filmd_server *s = evcon ? server_for(evhttp_connection_get_server(evcon)) : NULL;
    real_connection_free(evcon);
    if (s == NULL) return;
    s->open_connections--;
    if (s->paused && s->open_connections < s->max_connections) {
        evconnlistener_enable(s->listener);
        s->paused = 0;
    }
}

void evhttp_send_error(struct evhttp_request *req, int error, const char *reason) {
    resolve_real_functions();
    struct filmd_server *s = (req && req->evcon) ? server_for(evhttp_connection_get_server(req->evcon)) : NULL;
    if (s == NULL || s->hook == NULL) {
        real_send_error(req, error, reason);
        return;
    }
    s->hook(req, error, s->context);
}

// Every accepted connection gets its bufferevent here, which makes this the place to count
// connections and to wrap them in TLS.
static struct bufferevent *new_connection(struct event_base *base, void *arg) {
    struct filmd_server *s = arg;
    s->open_connections++;
    if (s->listener && s->max_connections > 0 && s->open_connections >= s->max_connections && !s->paused) {
        evconnlistener_disable(s->listener);
        s->paused = 1;
    }
    if (s->tls) {
        SSL *ssl = SSL_new(s->tls);
        if (ssl)
            return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                  BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    }
    return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

int filmd_http_guard(struct evhttp *http, struct event_base *base, struct evconnlistener *listener,
                     filmd_error_hook hook, void *context,
                     long header_timeout_ms, long max_connections, void *tls_context) {
    resolve_real_functions();
    struct filmd_server *s = NULL;
    for (int i = 0; i < FILMD_MAX_SERVERS && !s; i++)
        if (servers[i].http == NULL) s = &servers[i];
    if (s == NULL) return -1;
    memset(s, 0, sizeof *s);
    s->base = base;
    s->listener = listener;
    s->hook = hook;
    s->context = context;
    s->tls = tls_context;
    s->sweep = event_new(base, -1, EV_PERSIST, sweep, s);
    s->http = http;
    filmd_http_guard_update(http, header_timeout_ms, max_connections);
    evhttp_set_bevcb(http, new_connection, s);
    return 0;
}

void filmd_http_guard_update(struct evhttp *http, long header_timeout_ms, long max_connections) {
    struct filmd_server *s = server_for(http);
    if (s == NULL) return;
    s->header_timeout_ms = header_timeout_ms;
    s->max_connections = max_connections;
    if (s->sweep) {
        event_del(s->sweep);
        if (header_timeout_ms > 0) {
            long every = header_timeout_ms / 4;
            if (every < 50) every = 50;
            if (every > 1000) every = 1000;
            struct timeval tv = { every / 1000, (every % 1000) * 1000 };
            event_add(s->sweep, &tv);
        }
    }
    if (s->paused && (max_connections <= 0 || s->open_connections < max_connections)) {
        evconnlistener_enable(s->listener);
        s->paused = 0;
    }
}

long filmd_http_open_connections(struct evhttp *http) {
    struct filmd_server *s = server_for(http);
    return s ? s->open_connections : 0;
}

long filmd_http_receiving_bodies(struct evhttp *http) {
    struct filmd_server *s = server_for(http);
    return s ? s->receiving : 0;
}

void filmd_http_unguard(struct evhttp *http) {
    struct filmd_server *s = server_for(http);
    if (s == NULL) return;
    if (s->sweep) event_free(s->sweep);
    while (s->pending) release_pending(s->pending->req, s->pending);
    memset(s, 0, sizeof *s);
}
