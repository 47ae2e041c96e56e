#ifndef FILMD_CLIBEVENT_H
#define FILMD_CLIBEVENT_H


// (no _GNU_SOURCE: as a C target this module must see sys/select.h as SwiftGlibc does)
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

/// A connection's peer as 128 bits in network order, an IPv4 address as `::ffff:a.b.c.d`
/// (the layout of the Swift `IPAddress`).
struct filmd_peer {
    uint64_t high;
    uint64_t low;
};

/// Called instead of libevent's HTML error page (`evhttp_send_error`), and for every request the
/// guard refuses, for requests of a server registered with `filmd_http_guard`. The hook must
/// reply to `req` exactly once, with `Connection: close`.
typedef void (*filmd_error_hook)(struct evhttp_request *req, int status, void *context);

/// Decides on a new connection from `peer`: 0 refuses it (closed at once), 1 admits it
/// uncounted, 2 admits it counted: `filmd_release_hook` follows when it closes.
typedef int (*filmd_admit_hook)(const struct filmd_peer *peer, void *context);
typedef void (*filmd_release_hook)(const struct filmd_peer *peer, void *context);

struct filmd_guard_hooks {
    filmd_error_hook refuse;
    filmd_admit_hook admit;      // may be NULL: every connection admitted
    filmd_release_hook release;  // may be NULL
    void *context;
};

struct filmd_guard_limits {
    long header_timeout_ms;   // a head complete this long after its first byte (or the accept)
    long request_timeout_ms;  // the whole request, head and body, this long after its first byte
    long max_connections;     // open connections of this server; 0: no cap
};

/// Guards an evhttp server against what libevent 2.1 would let through:
/// - every libevent error page is handed to `hooks.refuse` (a problem+json reply) instead;
/// - deadlines: a new connection that sends no complete head within the header deadline, or a
///   head that trickles, is closed; a body still arriving at the request deadline is answered
///   408 (through `hooks.refuse`) and the connection closed;
/// - framing (RFC 9112 §6) is checked when the head is complete, before any body is read: a
///   request whose length is ambiguous is refused (400 or 501) and its connection closed, a
///   body on a method without one closes the connection after the reply, chunked trailer
///   fields are dropped, a request line over the size limit is 414 and a head over it 431;
/// - at most `max_connections` connections are open: beyond it every listener pauses (clients
///   wait in the kernel backlog) until one closes; `hooks.admit` decides on each connection first;
/// - an `Expect` other than `100-continue` is dropped (RFC 9110 lets a server ignore it) rather
///   than answered with libevent's HTML 417;
/// - with `tls_context` (an `SSL_CTX *`), every connection is wrapped in TLS, or closed.
/// Returns 0, or -1 when the table of servers is full.
int filmd_http_guard(struct evhttp *http, struct event_base *base, struct filmd_guard_hooks hooks,
                     struct filmd_guard_limits limits, void *tls_context);

/// Serves connections accepted on the listening descriptor `fd` (which is never closed here:
/// several servers may share it). 0, or -1 when it could not be bound. Loop thread.
int filmd_http_guard_listen(struct evhttp *http, evutil_socket_t fd);

/// Stops accepting on every listener of the server. Loop thread.
void filmd_http_guard_stop_listening(struct evhttp *http);

/// Updates the limits of a guarded server (configuration reload). Loop thread only.
void filmd_http_guard_update(struct evhttp *http, struct filmd_guard_limits limits);

/// Connections currently open on a guarded server.
long filmd_http_open_connections(struct evhttp *http);

/// Requests whose head has arrived and whose body is still coming (in flight for a drain).
long filmd_http_receiving_bodies(struct evhttp *http);

/// Sends a reply (as `evhttp_send_reply` with no extra body) and counts it as unsent until
/// libevent has written it out.
void filmd_http_send_reply(struct evhttp_request *req, int code, const char *reason);

/// Replies sent with `filmd_http_send_reply` and not yet written (in flight for a drain).
long filmd_http_unsent_replies(struct evhttp *http);

/// A TLS 1.2+ server context from PEM files (the certificate file may hold the chain).
/// NULL on failure, with a short reason (no path, no library text) in `reason`.
void *filmd_tls_context_new(const char *certificate, const char *private_key, char *reason, size_t reason_size);

/// Frees a context from `filmd_tls_context_new`.
void filmd_tls_context_free(void *context);

/// Removes a server from the guard table (before `evhttp_free`).
void filmd_http_unguard(struct evhttp *http);

/// What the start-up self check found: which of the libevent functions the guard interposes
/// libevent's own calls did not reach (bit i: `filmd_seam_function_name(i)`), and the libevent
/// it ran against.
struct filmd_seam_check {
    unsigned missed;
    const char *version;  // event_get_version()
    char library[512];    // the file the real evhttp_request_new is in (dladdr), or ""
};

/// Serves two requests on a throwaway guarded evhttp server on 127.0.0.1 (or ::1), port 0,
/// with its own event base, and sees whether every interposed function was reached. 0: all
/// were; 1: `check->missed` says which were not; -1: the probe could not run (no loopback
/// socket, or no reply within 2 s). A few milliseconds; leaves nothing behind. Call after
/// `filmd_libevent_use_malloc` and `evthread_use_pthreads`, on any thread.
int filmd_seam_self_check(struct filmd_seam_check *check);

/// The name of interposed function `index` (below `filmd_seam_function_count()`), else NULL.
const char *filmd_seam_function_name(unsigned index);
unsigned filmd_seam_function_count(void);

/// Response header fields gathered as pre-formatted lines ("\r\nName: value\r\nName: value")
/// to go to evhttp as the value of its Date entry, which evhttp writes out as those lines.
/// Zero-initialise, append, then `filmd_header_lines_add` (which hands the memory to evhttp)
/// or `filmd_header_lines_free`. Keep out the fields evhttp reads back (Connection,
/// Transfer-Encoding, Proxy-Connection): those must be entries of their own; Date and
/// Content-Length are written by `filmd_header_lines_add`.
struct filmd_header_lines {
    char *value;
    size_t length;
    size_t capacity;
    int failed;
};

/// Appends one field. A name that is not a token or a value with a control character other
/// than tab (CR, LF, NUL above all) is refused: -1, and the field is left out, as
/// evhttp_add_header would. 0 when appended.
int filmd_header_lines_append(struct filmd_header_lines *lines, const char *name, size_t name_length,
                              const char *value, size_t value_length);

/// Appends lines that `filmd_header_lines_append` formatted (and checked) before: a block of
/// fields that is the same on every reply. -1 if memory ran out.
int filmd_header_lines_append_formatted(struct filmd_header_lines *lines, const char *formatted, size_t length);

/// The fields appended so far, as lines ("Name: value\r\nName: value"), for tests.
const char *filmd_header_lines_text(const struct filmd_header_lines *lines);

/// Adds to `headers` an entry `Date` (this second, RFC 9110 form) whose value carries the
/// lines after it, and, unless `content_length` is negative, an entry `Content-Length`: the two
/// fields evhttp would otherwise format and add itself. -1 if memory ran out (nothing added).
/// `lines` is empty again afterwards.
int filmd_header_lines_add(struct filmd_header_lines *lines, struct evkeyvalq *headers, long content_length);

/// Frees lines that are not going to evhttp.
void filmd_header_lines_free(struct filmd_header_lines *lines);

/// `calloc` through the thread's malloc cache: malloc, then memset.
void *filmd_zeroed_alloc(size_t bytes);

/// Makes libevent allocate with malloc (and zero blocks itself) rather than calloc, which in
/// glibc 2.36 bypasses the per-thread cache. Call before any other libevent function.
void filmd_libevent_use_malloc(void);

/// Lets up to `bytes` of freed memory stay mapped at the top of each malloc heap. glibc hands
/// it back with madvise from 128 KiB on, and a store thread that crossed that with every
/// group commit paid a TLB flush on every core each time.
void filmd_keep_freed_memory(size_t bytes);

/// Asks the kernel to drop this process's resident pages of read-only file mappings (its
/// binary and libraries): once serving, most of what start-up touched (argument parsing,
/// configuration decoding, migrations, runtime set-up) is never used again. Pages still in
/// use come back on first touch. Returns the bytes of mappings advised, or -1.
long filmd_release_startup_pages(void);

/// The header list iteration helpers: TAILQ macros are not visible to Swift.
static inline struct evkeyval *filmd_headers_first(struct evkeyvalq *headers) {
    return headers ? headers->tqh_first : NULL;
}
static inline struct evkeyval *filmd_headers_next(struct evkeyval *header) {
    return header->next.tqe_next;
}

#endif
