#define _GNU_SOURCE 1
// Accepting connections for a guarded server: its listening sockets (never closed here, as
// several event loops share one descriptor), a gate in front of evhttp's accept that admits or
// refuses each connection by its peer, the connection count that pauses every listener at the
// cap, and the bufferevent of each connection (TLS or plain).
#include "guard_internal.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void (*real_set_cb)(struct evconnlistener *, evconnlistener_cb, void *);

// The listener evhttp_bind_listener is binding on this thread: its callback is the one to keep.
static __thread struct filmd_listener *binding;

// Set when the connection being accepted could not be given the TLS it must have.
static __thread int tls_failed;

static void peer_of(const struct sockaddr *sa, int length, struct filmd_peer *peer) {
    memset(peer, 0, sizeof *peer);
    if (sa->sa_family == AF_INET && length >= (int)sizeof(struct sockaddr_in)) {
        const unsigned char *b = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
        peer->low = 0xFFFFull << 32 | (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 | b[3];
    } else if (sa->sa_family == AF_INET6 && length >= (int)sizeof(struct sockaddr_in6)) {
        const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        for (int i = 0; i < 8; i++) {
            peer->high = peer->high << 8 | b[i];
            peer->low = peer->low << 8 | b[i + 8];
        }
    }
}

// Remembers the peer of descriptor `fd` for its release at close. -1 if memory ran out.
static int remember_peer(struct filmd_server *s, int fd, const struct filmd_peer *peer, int counted) {
    if ((size_t)fd >= s->peer_capacity) {
        size_t capacity = s->peer_capacity ? s->peer_capacity : 256;
        while (capacity <= (size_t)fd) capacity *= 2;
        struct filmd_connection_peer *grown = realloc(s->peers, capacity * sizeof *grown);
        if (grown == NULL) return -1;
        memset(grown + s->peer_capacity, 0, (capacity - s->peer_capacity) * sizeof *grown);
        s->peers = grown;
        s->peer_capacity = capacity;
    }
    s->peers[fd].peer = *peer;
    s->peers[fd].counted = (unsigned char)counted;
    return 0;
}

void filmd_connection_closing(struct filmd_server *s, struct evhttp_connection *evcon) {
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd < 0 || (size_t)fd >= s->peer_capacity || !s->peers[fd].counted) return;
    s->peers[fd].counted = 0;
    if (s->hooks.release) s->hooks.release(&s->peers[fd].peer, s->hooks.context);
}

static void accept_gate(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa, int length, void *arg) {
    struct filmd_listener *l = arg;
    struct filmd_server *s = l->server;
    struct filmd_peer peer;
    peer_of(sa, length, &peer);
    int admission = s->hooks.admit ? s->hooks.admit(&peer, s->hooks.context) : 1;
    if (admission == 0) {
        evutil_closesocket(fd);
        return;
    }
    if (remember_peer(s, fd, &peer, admission == 2) != 0) {
        if (admission == 2 && s->hooks.release) s->hooks.release(&peer, s->hooks.context);
        evutil_closesocket(fd);
        return;
    }
    filmd_accepting = s;
    tls_failed = 0;
    l->accept(listener, fd, sa, length, l->accept_arg);
    filmd_accepting = NULL;
    // A connection that must be TLS and is not gets nothing: no byte read or written in the
    // clear. libevent sees the end of the stream and closes it.
    if (tls_failed) shutdown(fd, SHUT_RDWR);
}

// evhttp_bind_listener installs evhttp's accept callback; the guard's gate takes its place.
void evconnlistener_set_cb(struct evconnlistener *listener, evconnlistener_cb cb, void *arg) {
    filmd_seam_reached |= filmd_seam_listener_set_cb;
    if (real_set_cb == NULL) {
        real_set_cb = (void (*)(struct evconnlistener *, evconnlistener_cb, void *))dlsym(RTLD_NEXT, "evconnlistener_set_cb");
        if (real_set_cb == NULL) abort();
    }
    if (binding != NULL && binding->listener == listener && cb != NULL) {
        binding->accept = cb;
        binding->accept_arg = arg;
        real_set_cb(listener, accept_gate, binding);
        return;
    }
    real_set_cb(listener, cb, arg);
}

// Every accepted connection gets its bufferevent here, which makes this the place to count
// connections and to wrap them in TLS.
static struct bufferevent *new_connection(struct event_base *base, void *arg) {
    struct filmd_server *s = arg;
    s->open_connections++;
    if (s->limits.max_connections > 0 && s->open_connections >= s->limits.max_connections && !s->paused)
        filmd_listeners_pause(s);
    if (s->tls) {
        SSL *ssl = SSL_new(s->tls);
        struct bufferevent *bev = ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
                                      : NULL;
        if (bev) return bev;
        if (ssl) SSL_free(ssl);
        tls_failed = 1;
    }
    return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

int filmd_http_guard_listen(struct evhttp *http, evutil_socket_t fd) {
    struct filmd_server *s = filmd_server_for(http);
    if (s == NULL || s->listener_count == FILMD_MAX_LISTENERS) return -1;
    // No LEV_OPT_CLOSE_ON_FREE (evhttp_accept_socket's choice): the descriptor is shared.
    // Backlog 0: it is listening already.
    struct evconnlistener *listener = evconnlistener_new(s->base, NULL, NULL, LEV_OPT_REUSEABLE, 0, fd);
    if (listener == NULL) return -1;
    struct filmd_listener *l = &s->listeners[s->listener_count];
    memset(l, 0, sizeof *l);
    l->server = s;
    l->listener = listener;
    binding = l;
    l->bound = evhttp_bind_listener(http, listener);
    binding = NULL;
    if (l->bound == NULL || l->accept == NULL) {
        if (l->bound) evhttp_del_accept_socket(http, l->bound);
        else evconnlistener_free(listener);
        memset(l, 0, sizeof *l);
        return -1;
    }
    s->listener_count++;
    evhttp_set_bevcb(http, new_connection, s);
    if (s->paused) evconnlistener_disable(listener);
    return 0;
}

void filmd_http_guard_stop_listening(struct evhttp *http) {
    struct filmd_server *s = filmd_server_for(http);
    if (s == NULL) return;
    for (int i = 0; i < s->listener_count; i++) evhttp_del_accept_socket(http, s->listeners[i].bound);
    memset(s->listeners, 0, sizeof s->listeners);
    s->listener_count = 0;
    s->paused = 0;
}

void filmd_listeners_pause(struct filmd_server *s) {
    for (int i = 0; i < s->listener_count; i++) evconnlistener_disable(s->listeners[i].listener);
    s->paused = 1;
}

void filmd_listeners_resume(struct filmd_server *s) {
    for (int i = 0; i < s->listener_count; i++) evconnlistener_enable(s->listeners[i].listener);
    s->paused = 0;
}
