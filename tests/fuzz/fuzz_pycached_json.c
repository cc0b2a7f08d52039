/*
 * libFuzzer target for pycached's JSON code, servers/pycached/jsonval.c:
 * the framer, the request parser and the string codec on arbitrary
 * bytes.  Beyond what the sanitizers catch, it aborts when a result
 * breaks the promises of jsonval.h:
 *  - frames that change with how the stream is split, overlap, fall
 *    outside the input or pass the size limit;
 *  - a parsed request whose spans fall outside the input, whose strings
 *    do not decode, whose value does not parse again as the same type,
 *    or whose parse changes when whitespace is added around it;
 *  - a decode that differs in place, or with less room other than by
 *    failing;
 *  - a written string that does not decode, or does not decode back to
 *    valid UTF-8 input.
 * json_put_string's evbuffer_add is replaced here by a flat buffer, so
 * the target needs no libevent.
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_pycached_json.c -o fuzz_pycached_json
 */
#include "../../servers/pycached/jsonval.c"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FRAMES_MAX 256
#define PUT_MAX (6 * 65536 + 2)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char put_buf[PUT_MAX];
static size_t put_len;

/* The one evbuffer function jsonval.c calls. */
int evbuffer_add(struct evbuffer *b, const void *d, size_t n)
{
    (void)b;
    if (n > PUT_MAX - put_len)
        abort();    /* json_put_string writes at most 6 bytes per input byte */
    memcpy(put_buf + put_len, d, n);
    put_len += n;
    return 0;
}

struct frame {
    size_t at, len;
};

/* Frames buf in pieces of piece bytes; returns the count, -1 after a
 * too-large value (as a last frame at its start). */
static int frame_all(const char *buf, size_t len, size_t piece, size_t max, struct frame *fr)
{
    struct json_framer f = { 0 };
    size_t base = 0, fed = 0;
    int n = 0;
    while (fed < len && n < FRAMES_MAX) {
        size_t k = len - fed > piece ? piece : len - fed;
        enum json_frame_status st = json_frame(&f, buf + fed, k, max);
        if (st == JSON_FRAME_TOO_LARGE)
            return -1 - n;
        if (st == JSON_FRAME_MORE) {
            fed += k;
            if (base + f.skip + f.len != fed)
                abort();    /* MORE uses every byte */
            continue;
        }
        if (f.len == 0 || f.len > max || base + f.skip + f.len > fed + k)
            abort();
        fr[n].at = base + f.skip;
        fr[n++].len = f.len;
        base += f.skip + f.len;
        fed = base;
        json_framer_reset(&f);
    }
    return n;
}

static void fuzz_framer(const char *buf, size_t len, size_t max, size_t piece)
{
    static struct frame a[FRAMES_MAX], b[FRAMES_MAX];
    int na = frame_all(buf, len, len ? len : 1, max, a);
    int nb = frame_all(buf, len, piece, max, b);
    int n = na < 0 ? -1 - na : na;
    if (na != nb || memcmp(a, b, (size_t)n * sizeof a[0]) != 0)
        abort();
    for (int i = 0; i < n; i++) {
        if (a[i].at + a[i].len > len || (i > 0 && a[i].at < a[i - 1].at + a[i - 1].len))
            abort();
        if (is_ws((unsigned char)buf[a[i].at]))
            abort();
    }
}

static void inside(const struct json_member *m, const char *buf, size_t len)
{
    if (m->type == JSON_ABSENT) {
        if (m->p || m->n)
            abort();
        return;
    }
    if (!m->p || m->n == 0 || m->p < buf || m->n > len || m->p > buf + len - m->n)
        abort();
}

static void check_string_member(const struct json_member *m)
{
    static char out[65536];
    size_t n;
    if (m->type == JSON_ABSENT)
        return;
    if (m->n > sizeof out)
        return;     /* too long to check here; the key limit is far lower */
    if (m->type != JSON_STRING ||
        json_string_decode(m->p, m->n, out, sizeof out, &n) == -1)
        abort();
}

/* The value's text is a JSON value of the type recorded. */
static void check_value(const struct json_member *m)
{
    char err[256];
    struct json_request again;
    char *wrap = malloc(m->n + 12);
    if (!wrap)
        return;
    memcpy(wrap, "{\"value\":", 9);
    memcpy(wrap + 9, m->p, m->n);
    wrap[9 + m->n] = '}';
    if (json_parse_request(wrap, m->n + 10, &again, err, sizeof err) != 0 ||
        again.value.type != m->type || again.value.n != m->n)
        abort();
    free(wrap);
}

static void fuzz_parser(const char *buf, size_t len)
{
    static struct json_request r, again;
    char err[512], err2[512];
    err[0] = '\0';
    int rc = json_parse_request(buf, len, &r, err, sizeof err);
    if (rc != 0 && (rc != -1 || err[0] == '\0' || strlen(err) >= sizeof err))
        abort();
    /* Whitespace around the request changes nothing but positions. */
    char *padded = malloc(len + 2);
    if (!padded)
        return;
    padded[0] = ' ';
    memcpy(padded + 1, buf, len);
    padded[len + 1] = '\n';
    if (json_parse_request(padded, len + 2, &again, err2, sizeof err2) != rc)
        abort();
    free(padded);
    if (rc != 0)
        return;
    inside(&r.command, buf, len);
    inside(&r.key, buf, len);
    inside(&r.value, buf, len);
    inside(&r.ttl, buf, len);
    check_string_member(&r.command);
    check_string_member(&r.key);
    if (r.ttl.type != JSON_ABSENT && r.ttl.type != JSON_NUMBER)
        abort();
    double d;
    if (r.ttl.type == JSON_NUMBER && r.ttl.n < 64 && json_number_value(r.ttl.p, r.ttl.n, &d))
        abort();
    if (r.value.type != JSON_ABSENT)
        check_value(&r.value);
}

static int valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k)
        if ((k = utf8_len((const unsigned char *)s + i, n - i)) == 0)
            return 0;
    return 1;
}

static void fuzz_strings(const char *buf, size_t len)
{
    char *out = malloc(len + 1), *copy = malloc(len + 1);
    size_t n, m;
    if (!out || !copy)
        abort();
    int r = json_string_decode(buf, len, out, len + 1, &n);
    if (r == 0 && n > len)
        abort();
    memcpy(copy, buf, len);
    if (json_string_decode(copy, len, copy, len, &m) != r || (r == 0 && (m != n ||
        memcmp(copy, out, n) != 0)))
        abort();                                /* in place decodes the same */
    if (r == 0 && n > 0 && json_string_decode(buf, len, copy, n - 1, &m) != -1)
        abort();                                /* one byte less room fails */
    if (len <= 65536) {
        put_len = 0;
        json_put_string(NULL, buf, len);
        char *back = malloc(put_len);
        if (!back || json_string_decode(put_buf, put_len, back, put_len, &m) != 0)
            abort();
        if (valid_utf8(buf, len) && (m != len || memcmp(back, buf, len) != 0))
            abort();
        free(back);
    }
    free(out);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    size_t piece = size ? 1 + (unsigned char)buf[0] % 7 : 1;
    size_t max = size > 1 ? 1 + (unsigned char)buf[1] % 64 : 8;
    fuzz_framer(buf, size, max, piece);
    fuzz_framer(buf, size, (size_t)1 << 20, piece);
    fuzz_parser(buf, size);
    fuzz_strings(buf, size);
    free(buf);
    return 0;
}
