#define _GNU_SOURCE 1
// What the bytes of a request head may be, checked before libevent parses them. libevent 2.1
// takes a bare LF for a line end, folds obs-fold lines into the field before, keeps a name with
// white space before its colon as a field of another name, reads `+5` and `0x5` as numbers and
// merges chunked trailer fields into the request's headers: a proxy in front may read each of
// these otherwise (RFC 9112 §2.2, §5, §7.1), so each is refused here, or dropped (trailers).
// The three functions are libevent's own, interposed like the guard's (called via its PLT).
#include "guard_internal.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

// http-internal.h's, which libevent does not install.
enum message_read_status { ALL_DATA_READ = 1, MORE_DATA_EXPECTED = 0, DATA_CORRUPTED = -1, REQUEST_CANCELED = -2, DATA_TOO_LONG = -3 };
typedef enum message_read_status (*parse_function)(struct evhttp_request *, struct evbuffer *);

__thread int filmd_chunk_size_refused;

static parse_function real(parse_function *slot, const char *name) {
    if (*slot == NULL) {
        *slot = (parse_function)dlsym(RTLD_NEXT, name);
        if (*slot == NULL) abort();
    }
    return *slot;
}

// Whether any of `length` bytes is a control character other than HT (or, in a request line,
// at all). No early exit: the compiler vectorises the loop, and a head is a few hundred bytes.
static int has_control(const unsigned char *bytes, size_t length, int tab_allowed) {
    unsigned char bad = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = bytes[i];
        bad |= (unsigned char)(((c < 0x20) & !(tab_allowed & (c == '\t'))) | (c == 0x7F));
    }
    return bad;
}

// A request line is ASCII (RFC 9112 §3: method, origin-form target, version); a byte of 0x80 or
// more there would be read one way by one parser and repaired another way by the next.
static int has_high_bytes(const unsigned char *bytes, size_t length) {
    unsigned char high = 0;
    for (size_t i = 0; i < length; i++) high |= bytes[i];
    return high >= 0x80;
}

enum scan { scan_incomplete, scan_done, scan_bad };

// The complete lines at the start of `data` up to the empty line that ends a field section
// (a head's or a trailer's). `request_line`: the first line is a request line, not a field.
static enum scan scan_lines(const unsigned char *data, size_t length, int request_line) {
    size_t at = 0;
    while (at < length) {
        const unsigned char *newline = memchr(data + at, '\n', length - at);
        if (newline == NULL) return scan_incomplete;  // checked again once it is complete
        size_t end = (size_t)(newline - data);
        if (end == at || data[end - 1] != '\r') return scan_bad;  // a bare LF
        size_t last = end - 1;                                    // the CR
        if (request_line) return has_control(data + at, last - at, 0) || has_high_bytes(data + at, last - at) ? scan_bad : scan_done;
        if (last == at) return scan_done;                          // the empty line
        if (data[at] == ' ' || data[at] == '\t') return scan_bad;  // obs-fold
        size_t colon = at;
        while (colon < last && filmd_token_bytes[data[colon]]) colon++;
        // No name, a byte that is no token's (white space before the colon among them).
        if (colon == at || colon == last || data[colon] != ':') return scan_bad;
        if (has_control(data + colon + 1, last - colon - 1, 1)) return scan_bad;  // a bare CR, NUL, ...
        at = end + 1;
    }
    return scan_incomplete;
}

// Scans the start of `buffer`, made contiguous a little at a time: a body that follows the
// head in the same read is not copied.
static int lines_are_bad(struct evbuffer *buffer, int request_line) {
    size_t available = evbuffer_get_length(buffer);
    size_t size = available < 2048 ? available : 2048;
    while (size > 0) {
        const unsigned char *data = evbuffer_pullup(buffer, (ev_ssize_t)size);
        if (data == NULL) return 0;  // out of memory: libevent's own parse fails the same way
        enum scan result = scan_lines(data, size, request_line);
        if (result != scan_incomplete) return result == scan_bad;
        if (size == available) return 0;
        size = available - size < size ? available : 2 * size;
    }
    return 0;
}

static parse_function real_firstline;

enum message_read_status evhttp_parse_firstline_(struct evhttp_request *req, struct evbuffer *buffer) {
    filmd_seam_reached |= filmd_seam_parse_firstline;
    struct filmd_watch *w = filmd_watch_of(req);
    if (w && lines_are_bad(buffer, 1)) return DATA_CORRUPTED;
    enum message_read_status status = real(&real_firstline, "evhttp_parse_firstline_")(req, buffer);
    if (w && status == DATA_TOO_LONG) w->refusal = 414;  // only the line itself is that long
    return status;
}

static parse_function real_headers;

// Chunked trailer fields are read and dropped (RFC 9112 §7.1.2 lets a recipient discard
// them): a field there must never pass for a request header, X-Forwarded-For least of all.
static enum message_read_status parse_trailer(struct evhttp_request *req, struct evbuffer *buffer) {
    struct evkeyvalq *headers = req->input_headers;
    struct evkeyvalq trailer;
    TAILQ_INIT(&trailer);
    req->input_headers = &trailer;
    enum message_read_status status = real(&real_headers, "evhttp_parse_headers_")(req, buffer);
    req->input_headers = headers;
    evhttp_clear_headers(&trailer);
    return status;
}

enum message_read_status evhttp_parse_headers_(struct evhttp_request *req, struct evbuffer *buffer) {
    filmd_seam_reached |= filmd_seam_parse_headers;
    struct filmd_watch *w = filmd_watch_of(req);
    if (w == NULL) return real(&real_headers, "evhttp_parse_headers_")(req, buffer);
    if (lines_are_bad(buffer, 0)) {
        w->refusal = 400;
        return DATA_CORRUPTED;
    }
    if (req->chunked) return parse_trailer(req, buffer);
    enum message_read_status status = real(&real_headers, "evhttp_parse_headers_")(req, buffer);
    if (status == DATA_TOO_LONG) w->refusal = 431;
    return status;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static ev_int64_t refuse_number(const char *s, char **end, int chunk_size) {
    if (end) *end = (char *)s;
    if (chunk_size) filmd_chunk_size_refused = 1;
    return -1;  // libevent refuses a negative length or chunk size
}

// libevent reads a Content-Length (base 10) and a chunk size (base 16) with strtoll, which
// takes leading white space, a sign and `0x`. Here: digits only; a chunk size may be followed
// by chunk extensions (`;name=value`), which are ignored (RFC 9112 §7.1.1).
ev_int64_t evutil_strtoll(const char *s, char **end, int base) {
    filmd_seam_reached |= filmd_seam_strtoll;
    if (base != 10 && base != 16) return (ev_int64_t)strtoll(s, end, base);
    int chunk_size = base == 16;
    ev_int64_t value = 0;
    const char *at = s;
    for (int digit; (digit = chunk_size ? hex_digit(*at) : (*at >= '0' && *at <= '9' ? *at - '0' : -1)) >= 0; at++) {
        if (at - s >= (chunk_size ? 15 : 18)) return refuse_number(s, end, chunk_size);  // no overflow
        value = value * base + digit;
    }
    if (at == s) return refuse_number(s, end, chunk_size);
    if (*at != '\0') {
        if (!chunk_size) return refuse_number(s, end, chunk_size);
        const char *extension = at;
        while (*extension == ' ' || *extension == '\t') extension++;
        if (*extension != ';') return refuse_number(s, end, chunk_size);
        size_t length = strlen(extension);
        if (has_control((const unsigned char *)extension, length, 1)) return refuse_number(s, end, chunk_size);
        at = extension + length;  // the end of the line: libevent then takes the size as given
    }
    if (end) *end = (char *)at;
    return value;
}
