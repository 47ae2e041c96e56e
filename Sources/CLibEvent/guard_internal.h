// What the guard's C files share (not part of the module's Swift interface).
#ifndef FILMD_GUARD_INTERNAL_H
#define FILMD_GUARD_INTERNAL_H

#include "CLibEvent.h"
#include <openssl/ssl.h>

#define FILMD_MAX_SERVERS 64
#define FILMD_MAX_LISTENERS 16

struct filmd_server;

// One listening socket of a guarded server: evhttp's own accept callback, which the gate in
// front of it calls for every connection it admits.
struct filmd_listener {
    struct filmd_server *server;
    struct evhttp_bound_socket *bound;
    struct evconnlistener *listener;
    evconnlistener_cb accept;
    void *accept_arg;
};

// The peer of an open connection, by descriptor, and whether the quota counted it.
struct filmd_connection_peer {
    struct filmd_peer peer;
    unsigned char counted;
};

// A request of a guarded server from its creation until libevent hands it, complete, to the
// server callback (or frees it). It takes the request's callback slot so that it can be found
// from the request.
struct filmd_watch {
    struct filmd_watch *prev, *next;
    struct filmd_server *server;
    struct evhttp_request *req;
    void (*callback)(struct evhttp_request *, void *);
    void *callback_arg;
    long started_ms;  // the request's first byte (or the connection's accept); 0 until seen
    int head_done;    // the head is complete: the request counts as in flight
    int refusal;      // the status to refuse it with, once known (framing, sizes); 0 if none
};

struct filmd_server {
    struct evhttp *http;
    struct event_base *base;
    struct filmd_guard_hooks hooks;
    struct filmd_guard_limits limits;
    long open_connections;
    int paused;
    struct filmd_listener listeners[FILMD_MAX_LISTENERS];
    int listener_count;
    struct filmd_connection_peer *peers;  // indexed by descriptor
    size_t peer_capacity;
    struct filmd_watch *watched;
    long receiving;  // watched requests whose head has arrived and body has not
    long sending;    // replies handed to libevent and not yet written out
    struct event *sweep;
    SSL_CTX *tls;
};

// RFC 9110 tchar: 1 for the bytes a field name (a token) may hold.
extern const unsigned char filmd_token_bytes[256];

struct filmd_server *filmd_server_for(const struct evhttp *http);

// The watch of a request of a guarded server, or NULL.
struct filmd_watch *filmd_watch_of(struct evhttp_request *req);

// Set while evhttp accepts a connection on this thread: the request it creates is the
// connection's first, whose deadline runs from the accept.
extern __thread struct filmd_server *filmd_accepting;

// Set when a chunk-size line was refused (a 400, where libevent would say 413).
extern __thread int filmd_chunk_size_refused;

// RFC 9112 §6 framing of a complete head: 0 when the body can be read as libevent will read it
// (the fields normalised so that it does), else the status to refuse it with (400 or 501).
// Sets `*close_after` when the connection must close after the reply (a body on a method that
// has none). Loop thread.
int filmd_check_framing(struct evhttp_request *req, int *close_after);

// Replaces every Connection field of the request with `Connection: close`: libevent then
// closes the connection after the reply.
void filmd_request_close_after_reply(struct evhttp_request *req);

// The libevent functions the guard interposes, one bit each. Each definition marks its bit on
// entry, per thread: the start-up self check (self_check.c) drives libevent on one thread and
// sees which of them libevent's own calls reached.
enum filmd_seam {
    filmd_seam_request_new = 1u << 0,
    filmd_seam_request_free = 1u << 1,
    filmd_seam_connection_free = 1u << 2,
    filmd_seam_send_error = 1u << 3,
    filmd_seam_listener_set_cb = 1u << 4,
    filmd_seam_parse_firstline = 1u << 5,
    filmd_seam_parse_headers = 1u << 6,
    filmd_seam_strtoll = 1u << 7,
    filmd_seam_all = (1u << 8) - 1,
};
extern __thread unsigned filmd_seam_reached;

// Listener bookkeeping used by the connection accounting.
void filmd_listeners_pause(struct filmd_server *s);
void filmd_listeners_resume(struct filmd_server *s);

// Connection accounting: a connection of `s` closes (before libevent frees it).
void filmd_connection_closing(struct filmd_server *s, struct evhttp_connection *evcon);

#endif
