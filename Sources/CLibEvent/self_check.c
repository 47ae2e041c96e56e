#define _GNU_SOURCE 1
// The start-up check that the guard is in effect: libevent must call the guard's definitions
// of the functions it interposes, through its PLT. Comparing dlsym(RTLD_DEFAULT, ...) with
// ours would miss a libevent linked -Bsymbolic (or with protected visibility), whose internal
// calls never leave it. So this serves two requests on a throwaway guarded server on loopback
// and looks at which of the guard's definitions libevent's own calls reached (each marks a
// bit of `filmd_seam_reached` on this thread): a request with a body (request_new,
// parse_firstline, parse_headers, strtoll, request_free), then one with a bad request line
// that libevent answers with evhttp_send_error, whose reply closes the connection
// (connection_free); binding the listener is evconnlistener_set_cb. A few milliseconds, no
// state left behind.
#include "guard_internal.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

__thread unsigned filmd_seam_reached;

static const char *const seam_names[] = {
    "evhttp_request_new", "evhttp_request_free", "evhttp_connection_free", "evhttp_send_error",
    "evconnlistener_set_cb", "evhttp_parse_firstline_", "evhttp_parse_headers_", "evutil_strtoll",
};

const char *filmd_seam_function_name(unsigned index) {
    return index < sizeof seam_names / sizeof *seam_names ? seam_names[index] : NULL;
}

unsigned filmd_seam_function_count(void) { return sizeof seam_names / sizeof *seam_names; }

// The second request's line has no valid version: libevent refuses it itself.
static const char probe_requests[] =
    "POST /self-check HTTP/1.1\r\nHost: self-check\r\nContent-Length: 2\r\n\r\nok"
    "GET / NOT-HTTP\r\nHost: self-check\r\n\r\n";

struct probe {
    struct event_base *base;
    int client;
    int timed_out;
};

static void answer(struct evhttp_request *req, void *arg) {
    (void)arg;
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void refuse(struct evhttp_request *req, int status, void *context) {
    (void)context;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    evhttp_send_reply(req, status, "Refused", NULL);
}

// The client's side: the replies are read and dropped until the server closes.
static void client_readable(evutil_socket_t fd, short what, void *arg) {
    struct probe *p = arg;
    if (what & EV_TIMEOUT) {
        p->timed_out = 1;
        event_base_loopbreak(p->base);
        return;
    }
    char buffer[1024];
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) event_base_loopbreak(p->base);
}

static int loopback_listener(void) {
    struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    const struct sockaddr *candidates[] = { (const struct sockaddr *)&v4, (const struct sockaddr *)&v6 };
    socklen_t sizes[] = { sizeof v4, sizeof v6 };
    for (int i = 0; i < 2; i++) {
        int fd = socket(candidates[i]->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        if (bind(fd, candidates[i], sizes[i]) == 0 && listen(fd, 4) == 0) {
            evutil_make_socket_nonblocking(fd);
            return fd;
        }
        close(fd);
    }
    return -1;
}

// Connects (the backlog accepts it before the loop runs) and sends both requests.
static int loopback_client(const struct sockaddr_storage *address, socklen_t length) {
    int fd = socket(address->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (const struct sockaddr *)address, length) != 0 ||
        write(fd, probe_requests, sizeof probe_requests - 1) != (ssize_t)(sizeof probe_requests - 1)) {
        close(fd);
        return -1;
    }
    evutil_make_socket_nonblocking(fd);
    return fd;
}

static int serve_probe(struct event_base *base, struct evhttp *http, int listening) {
    struct filmd_guard_hooks hooks = { .refuse = refuse };
    struct filmd_guard_limits limits = {0};
    if (filmd_http_guard(http, base, hooks, limits, NULL) != 0) return -1;
    evhttp_set_gencb(http, answer, NULL);
    int rc = -1;
    // Bypassed evconnlistener_set_cb: the guard cannot take the accept callback and refuses the
    // listener; evhttp's own accept then still lets the other functions be seen.
    if (filmd_http_guard_listen(http, listening) != 0 && evhttp_accept_socket(http, listening) != 0) goto done;
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(listening, (struct sockaddr *)&address, &length) != 0) goto done;
    struct probe p = { .base = base, .client = loopback_client(&address, length) };
    if (p.client < 0) goto done;
    struct event *readable = event_new(base, p.client, EV_READ | EV_PERSIST, client_readable, &p);
    struct timeval limit = { 2, 0 };
    if (readable != NULL && event_add(readable, &limit) == 0 && event_base_dispatch(base) >= 0 && !p.timed_out) rc = 0;
    if (readable) event_free(readable);
    close(p.client);
done:
    filmd_http_unguard(http);
    return rc;
}

int filmd_seam_self_check(struct filmd_seam_check *check) {
    memset(check, 0, sizeof *check);
    check->version = event_get_version();
    Dl_info info;
    void *real = dlsym(RTLD_NEXT, "evhttp_request_new");
    if (real && dladdr(real, &info) && info.dli_fname)
        strncpy(check->library, info.dli_fname, sizeof check->library - 1);
    int listening = -1, rc = -1;
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    if (http) listening = loopback_listener();
    filmd_seam_reached = 0;
    if (listening >= 0) rc = serve_probe(base, http, listening);
    check->missed = filmd_seam_all & ~filmd_seam_reached;
    if (http) evhttp_free(http);
    if (listening >= 0) close(listening);
    if (base) event_base_free(base);
    if (rc != 0) return -1;
    return check->missed == 0 ? 0 : 1;
}
