/*
 * The Range request header (RFC 9110 14.2), bytes only.  Pure.
 */
#ifndef GALE_WEB_RANGE_H
#define GALE_WEB_RANGE_H

#include <stddef.h>
#include <stdint.h>

#define RANGE_MAX 16    /* more ranges than this: the whole file (200) */

struct byte_range {
    uint64_t first, last;    /* inclusive, within the file */
};

/*
 * Parses "bytes=0-99,200-,-50" for a file of size bytes; out has room
 * for RANGE_MAX ranges.
 * Returns the number of satisfiable ranges (overlapping ones merged,
 * kept in the order given); 0 when none is satisfiable (416); -1 when the
 * header is malformed or not in bytes, or holds more than RANGE_MAX
 * ranges (then it is ignored: 200 with the whole file).
 */
int range_parse(const char *value, size_t len, uint64_t size, struct byte_range *out);

#endif
