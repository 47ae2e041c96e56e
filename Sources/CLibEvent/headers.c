// Response headers handed to evhttp as pre-formatted lines: evhttp_add_header costs three
// allocations per field (entry, key, value) and evhttp writes each entry with one
// printf("%s: %s\r\n"), so the fields go as two entries: Date (whose value carries every
// other field's line) and Content-Length, the two evhttp looks for and would otherwise add.
// The byte checks are here too: a tight C loop over every name and value of every reply.
#include "guard_internal.h"
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

// RFC 9110 tchar, as a table: a name costs one load per byte.
const unsigned char filmd_token_bytes[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1,
    ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
    ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
    ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static int is_clean_name(const char *name, size_t length) {
    unsigned char all = length > 0;
    for (size_t i = 0; i < length; i++) all &= filmd_token_bytes[(unsigned char)name[i]];
    return all;
}

// No control character but tab: above all no CR, LF or NUL, which would end the line early.
// No early exit, so the compiler vectorises the loop.
static int is_clean_value(const char *value, size_t length) {
    unsigned char bad = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char byte = (unsigned char)value[i];
        bad |= (unsigned char)((byte < 0x20) & (byte != '\t'));
    }
    return !bad;
}

// The Date field's value, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate): formatted
// once a second per thread, where evhttp would call gmtime and snprintf for every reply.
enum { date_length = 29 };
static __thread time_t date_second = (time_t)-1;
static __thread char date_text[date_length + 1];

static const char *http_date(void) {
    time_t now = time(NULL);
    if (now != date_second) {
        static const char days[] = "SunMonTueWedThuFriSat";
        static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        struct tm parts;
        gmtime_r(&now, &parts);
        char *out = date_text;
        memcpy(out, days + 3 * parts.tm_wday, 3);
        out[3] = ',';
        out[4] = ' ';
        out[5] = (char)('0' + parts.tm_mday / 10);
        out[6] = (char)('0' + parts.tm_mday % 10);
        out[7] = ' ';
        memcpy(out + 8, months + 3 * parts.tm_mon, 3);
        out[11] = ' ';
        int year = parts.tm_year + 1900;
        for (int i = 15; i >= 12; i--, year /= 10) out[i] = (char)('0' + year % 10);
        out[16] = ' ';
        int clock[3] = {parts.tm_hour, parts.tm_min, parts.tm_sec};
        for (int i = 0; i < 3; i++) {
            out[17 + 3 * i] = (char)('0' + clock[i] / 10);
            out[18 + 3 * i] = (char)('0' + clock[i] % 10);
            out[19 + 3 * i] = i < 2 ? ':' : ' ';
        }
        memcpy(out + 26, "GMT", 4);
        date_second = now;
    }
    return date_text;
}

// The value starts with room for the date, filled in when the lines go to evhttp.
static int reserve(struct filmd_header_lines *lines, size_t more) {
    if (lines->capacity == 0) lines->length = date_length;
    if (lines->length + more + 1 <= lines->capacity) return 0;
    // A reply head of filmd's is 500-900 bytes: one allocation, small enough for the
    // allocator's per-thread cache (up to 1032 bytes).
    size_t capacity = lines->capacity ? lines->capacity : 1024;
    while (capacity < lines->length + more + 1) capacity *= 2;
    char *grown = realloc(lines->value, capacity);
    if (grown == NULL) return -1;
    lines->value = grown;
    lines->capacity = capacity;
    return 0;
}

int filmd_header_lines_append(struct filmd_header_lines *lines, const char *name, size_t name_length,
                              const char *value, size_t value_length) {
    if (lines->failed || !is_clean_name(name, name_length) || !is_clean_value(value, value_length)) return -1;
    if (reserve(lines, 2 + name_length + 2 + value_length) != 0) {
        lines->failed = 1;
        return -1;
    }
    char *end = lines->value + lines->length;
    memcpy(end, "\r\n", 2);
    memcpy(end + 2, name, name_length);
    memcpy(end + 2 + name_length, ": ", 2);
    if (value_length > 0) memcpy(end + 2 + name_length + 2, value, value_length);  // "" may come as NULL
    lines->length += 2 + name_length + 2 + value_length;
    lines->value[lines->length] = '\0';
    return 0;
}

int filmd_header_lines_append_formatted(struct filmd_header_lines *lines, const char *formatted, size_t length) {
    if (lines->failed || length == 0) return lines->failed ? -1 : 0;
    if (reserve(lines, length) != 0) {
        lines->failed = 1;
        return -1;
    }
    memcpy(lines->value + lines->length, formatted, length);
    lines->length += length;
    lines->value[lines->length] = '\0';
    return 0;
}

const char *filmd_header_lines_text(const struct filmd_header_lines *lines) {
    return lines->capacity == 0 ? "" : lines->value + date_length + 2;
}

static struct evkeyval *entry(const char *key, char *value) {
    struct evkeyval *header = filmd_zeroed_alloc(sizeof *header);
    if (header == NULL) return NULL;
    if ((header->key = strdup(key)) == NULL) {
        free(header);
        return NULL;
    }
    header->value = value;
    return header;
}

static char *decimal(long number) {
    char digits[24];
    size_t length = 0;
    do digits[sizeof digits - ++length] = (char)('0' + number % 10);
    while ((number /= 10) > 0);
    char *text = malloc(length + 1);
    if (text == NULL) return NULL;
    memcpy(text, digits + sizeof digits - length, length);
    text[length] = '\0';
    return text;
}

int filmd_header_lines_add(struct filmd_header_lines *lines, struct evkeyvalq *headers, long content_length) {
    if (lines->failed || headers == NULL || reserve(lines, 0) != 0) {
        filmd_header_lines_free(lines);
        return -1;
    }
    memcpy(lines->value, http_date(), date_length);
    lines->value[lines->length] = '\0';
    struct evkeyval *date = entry("Date", lines->value);
    if (date == NULL) {
        filmd_header_lines_free(lines);
        return -1;
    }
    memset(lines, 0, sizeof *lines);  // the value is the entry's now
    struct evkeyval *length = NULL;
    if (content_length >= 0) {
        char *digits = decimal(content_length);
        if (digits == NULL || (length = entry("Content-Length", digits)) == NULL) {
            free(digits);
            free(date->key);
            free(date->value);
            free(date);
            return -1;
        }
    }
    TAILQ_INSERT_TAIL(headers, date, next);
    if (length != NULL) TAILQ_INSERT_TAIL(headers, length, next);
    return 0;
}

void filmd_header_lines_free(struct filmd_header_lines *lines) {
    free(lines->value);
    int failed = lines->failed;
    memset(lines, 0, sizeof *lines);
    lines->failed = failed;
}
