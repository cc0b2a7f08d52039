/* JSON string escaping (RFC 8259 section 7); see json.h. */
#include "json.h"

#include <stdio.h>
#include <string.h>

static int put(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
    if (*pos + n + 2 > outlen)   /* keep room for the closing quote and NUL */
        return -1;
    memcpy(out + *pos, s, n);
    *pos += n;
    return 0;
}

void json_quote(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
    if (outlen < 3 || *pos + 3 > outlen)
        return;
    out[(*pos)++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        size_t len = 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            len = 2;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            len = 6;
        } else {
            esc[0] = (char)c;
        }
        if (put(out, outlen, pos, esc, len) == -1)
            break;
    }
    out[(*pos)++] = '"';
    out[*pos] = '\0';
}
