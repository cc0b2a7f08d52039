/* Writing JSON strings: the one escaper shared by the logs and servers. */
#ifndef GALE_JSON_H
#define GALE_JSON_H

#include <stddef.h>

/* Writes s[0..n) as a quoted JSON string at out + *pos, never past
 * outlen - 1 (a string that does not fit is cut, still quoted and
 * NUL-terminated).  *pos advances by what was written. */
void json_quote(char *out, size_t outlen, size_t *pos, const char *s, size_t n);

#endif
