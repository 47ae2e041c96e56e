// RFC 9112 §6: how long a request's body is, decided once from its complete head, strictly,
// so that filmd never reads a body of another length than a proxy in front of it did; and
// §3.2: one Host, so that no two hops route one request two ways.
#include "guard_internal.h"
#include <string.h>
#include <strings.h>

enum { max_length_digits = 18 };  // below 2^63: libevent's strtoll never saturates

// Whether libevent reads a body for this method (http.c, evhttp_method_may_have_body).
static int may_have_body(enum evhttp_cmd_type type) {
    switch (type) {
    case EVHTTP_REQ_POST: case EVHTTP_REQ_PUT: case EVHTTP_REQ_PATCH: case EVHTTP_REQ_GET:
    case EVHTTP_REQ_DELETE: case EVHTTP_REQ_OPTIONS: case EVHTTP_REQ_CONNECT:
        return 1;
    default:
        return 0;
    }
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }

// Calls `element` for each element of a comma-separated field value, white space trimmed,
// empty elements skipped (RFC 9110 §5.6.1). Stops at the first that returns non-zero.
static int each_element(const char *value, int (*element)(const char *, size_t, void *), void *state) {
    const char *at = value;
    for (;;) {
        const char *end = strchr(at, ',');
        if (end == NULL) end = at + strlen(at);
        const char *first = at, *last = end;
        while (first < last && is_ows(*first)) first++;
        while (last > first && is_ows(last[-1])) last--;
        if (last > first) {
            int rc = element(first, (size_t)(last - first), state);
            if (rc != 0) return rc;
        }
        if (*end == '\0') return 0;
        at = end + 1;
    }
}

struct codings {
    int count, chunked, others, chunked_last;
};

static int coding(const char *name, size_t length, void *state) {
    struct codings *c = state;
    c->count++;
    c->chunked_last = length == 7 && strncasecmp(name, "chunked", 7) == 0;
    if (c->chunked_last) c->chunked++; else c->others++;
    return 0;
}

struct length {
    char digits[max_length_digits + 1];  // the value without leading zeros; "" until one is seen
    int seen, bad;
    int values;  // elements seen, over every field
};

static int length_value(const char *text, size_t length, void *state) {
    struct length *l = state;
    l->values++;
    for (size_t i = 0; i < length; i++)
        if (text[i] < '0' || text[i] > '9') return l->bad = 1;
    while (length > 1 && *text == '0') { text++; length--; }
    // Longer than any body filmd takes: keep it too large (a 413), without overflow.
    char value[max_length_digits + 1];
    if (length > max_length_digits) memset(value, '9', length = max_length_digits);
    else memcpy(value, text, length);
    value[length] = '\0';
    if (l->seen && strcmp(l->digits, value) != 0) return l->bad = 1;  // lengths that differ
    memcpy(l->digits, value, length + 1);
    l->seen = 1;
    return 0;
}

static void replace_all(struct evkeyvalq *headers, const char *name, const char *value) {
    while (evhttp_remove_header(headers, name) == 0) {}
    evhttp_add_header(headers, name, value);
}

void filmd_request_close_after_reply(struct evhttp_request *req) {
    replace_all(req->input_headers, "Connection", "close");
}

int filmd_check_framing(struct evhttp_request *req, int *close_after) {
    struct codings codings = {0};
    struct length length = {0};
    int encodings = 0, lengths = 0, hosts = 0;
    for (struct evkeyval *field = filmd_headers_first(req->input_headers); field; field = filmd_headers_next(field)) {
        char first = (char)(field->key[0] | 0x20);  // most fields are none of the three: one compare
        if (first != 't' && first != 'c' && first != 'h') continue;
        if (strcasecmp(field->key, "Transfer-Encoding") == 0) {
            encodings++;
            each_element(field->value, coding, &codings);
        } else if (strcasecmp(field->key, "Host") == 0) {
            hosts++;
        } else if (strcasecmp(field->key, "Content-Length") == 0) {
            lengths++;
            int before = length.values;
            each_element(field->value, length_value, &length);
            if (length.values == before) length.bad = 1;  // an empty field
        }
    }
    // One Host, and in HTTP/1.1 always one (RFC 9112 §3.2): two could route one request twice.
    if (hosts > 1 || (hosts == 0 && !(req->major == 1 && req->minor == 0))) return 400;
    if (encodings > 0) {
        // HTTP/1.0 has no transfer codings; with a length as well, the two disagree (§6.1, §6.3).
        if (req->major == 1 && req->minor == 0) return 400;
        if (lengths > 0) return 400;
        if (!codings.chunked_last || codings.chunked > 1) return 400;  // chunked must be last, once
        if (codings.others > 0) return 501;  // gzip, deflate...: none is implemented for requests
        replace_all(req->input_headers, "Transfer-Encoding", "chunked");  // as libevent compares it
        if (!may_have_body(req->type)) *close_after = 1;
        return 0;
    }
    if (lengths > 0) {
        if (length.bad) return 400;
        // Rewritten only when libevent would read it otherwise (repeats, leading zeros, a list):
        // a POST's one plain length stays as it came, without two allocations.
        const char *sent = evhttp_find_header(req->input_headers, "Content-Length");
        if (lengths > 1 || sent == NULL || strcmp(sent, length.digits) != 0)
            replace_all(req->input_headers, "Content-Length", length.digits);
        if (strcmp(length.digits, "0") != 0 && !may_have_body(req->type)) *close_after = 1;
    }
    return 0;
}
