// Response headers handed to evhttp as pre-formatted lines: evhttp_add_header costs three
// allocations per field (entry, key, value) and evhttp writes each entry with one
// printf("%s: %s\r\n"), so many fields in one entry cost three allocations and one printf.
#include "CLibEvent.h"
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

int filmd_add_header_lines(struct evkeyvalq *headers, const char *lines, size_t length) {
    const char *separator = memchr(lines, ':', length);
    if (headers == NULL || separator == NULL || separator == lines || (size_t)(separator - lines) + 2 > length
        || separator[1] != ' ') {
        return -1;
    }
    size_t key_length = (size_t)(separator - lines);
    struct evkeyval *header = calloc(1, sizeof *header);
    char *key = strndup(lines, key_length);
    char *value = strndup(separator + 2, length - key_length - 2);
    if (header == NULL || key == NULL || value == NULL) {
        free(header);
        free(key);
        free(value);
        return -1;
    }
    header->key = key;
    header->value = value;
    TAILQ_INSERT_TAIL(headers, header, next);
    return 0;
}
