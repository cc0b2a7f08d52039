/*
 * libFuzzer target for the web server's HTTP parsers (RFC 9112, RFC 9110
 * 14.2): http_parse_request(), http_chunked_decode() and range_parse()
 * on arbitrary bytes.  Beyond what the sanitizers catch, it aborts when a
 * result breaks the promises of http.h and range.h:
 *  - a head longer than the input, not ending in LF, past the limits, or
 *    with a string outside the buffer; a status that is not one of ours;
 *  - a head whose own prefix parses differently (the parser must not look
 *    past the head, and must need more for anything shorter);
 *  - chunked decoding that depends on how the input is split or on how
 *    much room the output has;
 *  - ranges out of the file, out of order, or touching one another.
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       -Iservers/web tests/fuzz/fuzz_http.c -o fuzz_http
 */
#include "../../common/http.c"
#include "../../servers/web/range.c"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http_limits limits[] = {
    { .max_request_line = 8192, .max_header_bytes = 16384, .max_headers = HTTP_MAX_HEADERS },
    { .max_request_line = 40, .max_header_bytes = 100, .max_headers = 3 },
};

static struct http_request req, again;

static void inside(struct http_str s, const char *buf, size_t len)
{
    if (s.len > len || (s.len > 0 && (s.p < buf || s.p > buf + len - s.len)))
        abort();
    if (s.len == 0 && s.p && (s.p < buf || s.p > buf + len))
        abort();
}

static void check_request(const char *buf, size_t len, const struct http_limits *lim, int r)
{
    if (r < 0) {
        if (r != -400 && r != -414 && r != -431 && r != -501 && r != -505)
            abort();
        return;
    }
    if (r == 0)
        return;
    if ((size_t)r > len || (size_t)r > lim->max_header_bytes || buf[r - 1] != '\n')
        abort();
    if (req.n_headers > lim->max_headers || req.n_headers > HTTP_MAX_HEADERS)
        abort();
    if (req.version_minor != 0 && req.version_minor != 1)
        abort();
    if ((req.version_minor == 1 && !req.has_host) || (req.chunked && req.has_length))
        abort();
    if (req.method_text.len == 0 || req.target.len == 0 || req.path.len > req.target.len)
        abort();
    inside(req.method_text, buf, (size_t)r);
    inside(req.target, buf, (size_t)r);
    inside(req.path, buf, (size_t)r);
    inside(req.query, buf, (size_t)r);
    inside(req.host, buf, (size_t)r);
    for (size_t i = 0; i < req.n_headers; i++) {
        inside(req.headers[i].name, buf, (size_t)r);
        inside(req.headers[i].value, buf, (size_t)r);
        if (req.headers[i].name.len == 0)
            abort();
    }
    /* The head alone parses the same; one byte less needs more. */
    if (http_parse_request(buf, (size_t)r, lim, &again) != r ||
        again.n_headers != req.n_headers || again.content_length != req.content_length)
        abort();
    if (http_parse_request(buf, (size_t)r - 1, lim, &again) != 0)
        abort();
}

static void fuzz_request(const char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        int r = http_parse_request(buf, len, &limits[i], &req);
        check_request(buf, len, &limits[i], r);
        /* Needing more now means no error for any shorter input. */
        if (r == 0 && len > 0 && http_parse_request(buf, len - 1, &limits[i], &again) != 0)
            abort();
    }
}

/* Decodes with pieces of piece bytes and an output room of room bytes. */
static int decode(const char *in, size_t len, size_t piece, size_t room, char *out,
                  size_t *out_len, size_t *used)
{
    struct http_chunked c = { 0 };
    size_t at = 0, o = 0;
    int r = 0;
    while (at < len && r == 0) {
        size_t end = len - at < piece ? len : at + piece;
        size_t got, made;
        r = http_chunked_decode(&c, in + at, end - at, &got, out + o, room, &made);
        if (got > end - at || made > room)
            abort();
        at += got;
        o += made;
        if (r == 0 && got == 0 && made == 0 && at < end)
            abort();    /* stuck with room to spare */
    }
    *out_len = o;
    *used = at;
    return r;
}

static void fuzz_chunked(const char *in, size_t len)
{
    char *a = malloc(len + 8), *b = malloc(len + 8);    /* the body is never longer */
    size_t na, nb, ua, ub;
    if (!a || !b)
        abort();
    int ra = decode(in, len, len + 1, len + 1, a, &na, &ua);
    size_t piece = len > 0 ? 1 + (unsigned char)in[0] % 7 : 1;
    int rb = decode(in, len, piece, 3, b, &nb, &ub);
    if (ra != rb || na != nb || ua != ub || memcmp(a, b, na) != 0 || na > len || ua > len)
        abort();
    if (ra < -1 || ra > 1)
        abort();
    free(a);
    free(b);
}

static void fuzz_range(const char *in, size_t len)
{
    static const uint64_t sizes[] = { 0, 1, 10, 1000, (uint64_t)1 << 40, UINT64_MAX - 1 };
    struct byte_range r[RANGE_MAX];
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int n = range_parse(in, len, sizes[s], r);
        if (n < -1 || n > RANGE_MAX || (sizes[s] == 0 && n > 0))
            abort();
        for (int i = 0; i < n; i++) {
            if (r[i].first > r[i].last || r[i].last >= sizes[s])
                abort();
            for (int j = 0; j < i; j++)
                if (range_touch(&r[i], &r[j]))
                    abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    fuzz_request(buf, size);
    fuzz_chunked(buf, size);
    fuzz_range(buf, size);
    free(buf);
    return 0;
}
