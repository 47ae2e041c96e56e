// Response headers handed to evhttp as pre-formatted lines: evhttp_add_header costs three
// allocations per field (entry, key, value) and evhttp writes each entry with one
// printf("%s: %s\r\n"), so many fields in one entry cost two allocations and one printf.
// The byte checks are here too: a tight C loop over every name and value of every reply.
#include "CLibEvent.h"
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

// RFC 9110 tchar, as a table: a name costs one load per byte.
static const unsigned char token_bytes[256] = {
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
    for (size_t i = 0; i < length; i++) all &= token_bytes[(unsigned char)name[i]];
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

static int reserve(struct filmd_header_lines *lines, size_t more) {
    if (lines->length + more + 1 <= lines->capacity) return 0;
    size_t capacity = lines->capacity ? lines->capacity : 512;
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
    if (lines->key == NULL) {
        // The first field's name is the entry's key; its value starts the entry's value.
        if (reserve(lines, value_length) != 0 || (lines->key = strndup(name, name_length)) == NULL) {
            lines->failed = 1;
            return -1;
        }
    } else {
        if (reserve(lines, 2 + name_length + 2 + value_length) != 0) {
            lines->failed = 1;
            return -1;
        }
        memcpy(lines->value + lines->length, "\r\n", 2);
        memcpy(lines->value + lines->length + 2, name, name_length);
        memcpy(lines->value + lines->length + 2 + name_length, ": ", 2);
        lines->length += 2 + name_length + 2;
    }
    memcpy(lines->value + lines->length, value, value_length);
    lines->length += value_length;
    lines->value[lines->length] = '\0';
    return 0;
}

int filmd_header_lines_add(struct filmd_header_lines *lines, struct evkeyvalq *headers) {
    if (lines->key == NULL || lines->failed || headers == NULL) {
        int failed = lines->failed;
        filmd_header_lines_free(lines);
        return failed ? -1 : 0;
    }
    struct evkeyval *header = calloc(1, sizeof *header);
    if (header == NULL) {
        filmd_header_lines_free(lines);
        return -1;
    }
    header->key = lines->key;
    header->value = lines->value;
    TAILQ_INSERT_TAIL(headers, header, next);
    memset(lines, 0, sizeof *lines);
    return 0;
}

void filmd_header_lines_free(struct filmd_header_lines *lines) {
    free(lines->key);
    free(lines->value);
    int failed = lines->failed;
    memset(lines, 0, sizeof *lines);
    lines->failed = failed;
}
