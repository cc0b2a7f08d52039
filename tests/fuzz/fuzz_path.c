/*
 * libFuzzer target for the request path functions of the web server,
 * servers/web/path.c (RFC 3986, RFC 3629): arbitrary bytes go to
 * path_normalise() as a request target.  Beyond what the sanitizers
 * catch, it aborts when a result breaks the promises of path.h:
 *  - an accepted path that is not terminated, starts or ends with '/',
 *    holds "//", a "." or ".." segment, a backslash, a control byte, or
 *    invalid UTF-8;
 *  - a status other than 0, -400 or -414, or a result that changes with
 *    the size of out other than by -414;
 *  - a path that does not read back through path_url_encode();
 *  - escapes that leave a raw <, >, ", ' or a bare & behind.
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       -Iservers/web tests/fuzz/fuzz_path.c -o fuzz_path
 */
#include "../../servers/web/path.c"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OUT_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char out[OUT_MAX], small[16], enc[3 * OUT_MAX + 2], back[OUT_MAX], html[6 * OUT_MAX];

static void check_segments(const char *p, size_t n)
{
    if (n > 0 && (p[0] == '/' || p[n - 1] == '/'))
        abort();
    for (size_t i = 0; i < n;) {
        const char *slash = memchr(p + i, '/', n - i);
        size_t j = slash ? (size_t)(slash - p) : n;
        size_t seg = j - i;
        if (seg == 0 || (seg == 1 && p[i] == '.') || (seg == 2 && p[i] == '.' && p[i + 1] == '.'))
            abort();
        i = j + 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            abort();
    }
    if (!utf8_valid((const unsigned char *)p, n))
        abort();
}

/* Encoding the result and normalising it again gives it back. */
static void check_round_trip(const char *p, size_t n)
{
    enc[0] = '/';
    size_t e = path_url_encode(p, enc + 1, sizeof enc - 1);
    if (e != strlen(enc + 1) || e < n)
        abort();
    int slash;
    if (path_normalise(enc, e + 1, back, sizeof back, &slash) != 0 || strcmp(back, p) != 0)
        abort();
}

static void check_html(const char *p)
{
    size_t n = path_html_escape(p, html, sizeof html);
    if (n != strlen(html))
        abort();
    for (size_t i = 0; i < n; i++) {
        if (strchr("<>\"'", html[i]) && html[i] != '\0')
            abort();
        if (html[i] == '&' && strncmp(html + i, "&amp;", 5) && strncmp(html + i, "&lt;", 4) &&
            strncmp(html + i, "&gt;", 4) && strncmp(html + i, "&quot;", 6) &&
            strncmp(html + i, "&#39;", 5))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    char *target = malloc(size ? size : 1);
    if (!target)
        return 0;
    memcpy(target, data, size);

    int slash = -1, slash2 = -1;
    int r = path_normalise(target, size, out, sizeof out, &slash);
    if (r != 0 && r != -400 && r != -414)
        abort();
    if (r == 0) {
        size_t n = strnlen(out, sizeof out);
        if (n == sizeof out || (slash != 0 && slash != 1))
            abort();
        check_segments(out, n);
        check_round_trip(out, n);
        check_html(out);
    }

    int r2 = path_normalise(target, size, small, sizeof small, &slash2);
    if (r2 != 0 && r2 != -400 && r2 != -414)
        abort();
    if (r2 == 0 && (r != 0 || strcmp(small, out) != 0 || slash2 != slash))
        abort();
    if (r == 0 && r2 != 0 && r2 != -414)
        abort();
    if (r == -400 && r2 != -400 && r2 != -414)
        abort();
    free(target);
    return 0;
}
