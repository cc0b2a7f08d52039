/*
 * libFuzzer target for pycached's memcached command lines
 * (servers/pycached/mcproto.c): mc_frame() and mc_parse() on arbitrary
 * bytes.  Beyond what the sanitizers catch, it aborts when a result
 * breaks the promises of mcproto.h:
 *  - a line that does not end at a newline, is longer than the input or
 *    the bounds, or keeps a CR it should have dropped;
 *  - framing that depends on how the input trickles in (whole or in
 *    pieces, the first line gets the same answer);
 *  - a parse that points outside the line, accepts a bad key or a data
 *    block over MC_BYTES_MAX, marks "ERROR" as noreply, or answers
 *    differently the second time.
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_pycached_mc.c -o fuzz_pycached_mc
 */
#include "../../servers/pycached/mcproto.c"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(struct mc_str s, const char *buf, size_t len)
{
    if (s.len == 0)
        return;
    if (s.len > len || s.p < buf || s.p > buf + len - s.len)
        abort();
}

static void check_key(struct mc_str k, const char *buf, size_t len)
{
    inside(k, buf, len);
    if (k.len == 0 || k.len > MC_KEY_MAX)
        abort();
    /* Control characters pass, as in memcached; the separator and the
     * NUL that ends a line as memcached reads it never do. */
    for (size_t i = 0; i < k.len; i++)
        if (k.p[i] == ' ' || k.p[i] == '\0')
            abort();
}

static void check_keys(const struct mc_request *r, const char *buf, size_t len)
{
    struct mc_str keys = r->keys, key;
    size_t n = 0;
    inside(r->keys, buf, len);
    while (mc_next_key(&keys, &key)) {
        check_key(key, buf, len);
        if (n++ == 0 && (key.p != r->key.p || key.len != r->key.len))
            abort();
    }
    if (n == 0 && r->cmd != MC_GAT && r->cmd != MC_GATS)
        abort();                     /* only gat may come without keys */
}

static void check_request(enum mc_status st, const struct mc_request *r, const char *buf,
                          size_t len)
{
    if (st > MC_BAD_DELETE || (st != MC_OK) != (mc_status_text(st) != NULL))
        abort();
    if (st == MC_ERROR && r->noreply)
        abort();                     /* an invalid line is always answered */
    if (st != MC_OK)
        return;
    if (r->cmd == MC_UNKNOWN)
        abort();
    if (r->cmd == MC_GET || r->cmd == MC_GETS || r->cmd == MC_GAT || r->cmd == MC_GATS)
        check_keys(r, buf, len);
    else if (mc_cmd_is_storage(r->cmd) || r->cmd == MC_DELETE || r->cmd == MC_INCR ||
             r->cmd == MC_DECR || r->cmd == MC_TOUCH)
        check_key(r->key, buf, len);
    if (r->bytes > MC_BYTES_MAX)
        abort();
    inside(r->group, buf, len);
    inside(r->arg, buf, len);
}

static void fuzz_parse(const char *buf, size_t len)
{
    struct mc_request a, b;
    enum mc_status sa = mc_parse(buf, len, &a);
    check_request(sa, &a, buf, len);
    enum mc_status sb = mc_parse(buf, len, &b);
    if (sa != sb || memcmp(&a, &b, sizeof a) != 0)
        abort();
}

/* The first line, fed all at once and then in pieces of piece bytes. */
static void fuzz_frame(const char *buf, size_t len, size_t piece)
{
    size_t scanned = 0, line_len = 0, total = 0;
    enum mc_frame whole = mc_frame(buf, len, &scanned, &line_len, &total);
    if (whole == MC_FRAME_LINE) {
        if (total == 0 || total > len || buf[total - 1] != '\n' || total - 1 > MC_KEYLIST_MAX)
            abort();
        if (line_len != total - 1 && !(line_len == total - 2 && buf[total - 2] == '\r'))
            abort();
        if (memchr(buf, '\n', total - 1))
            abort();                 /* the first newline ends the line */
        fuzz_parse(buf, line_len);
    } else if (whole == MC_FRAME_MORE && (memchr(buf, '\n', len) || len > MC_KEYLIST_MAX)) {
        abort();
    }
    size_t s = 0, l2 = 0, t2 = 0, at = 0;
    enum mc_frame f = MC_FRAME_MORE;
    while (f == MC_FRAME_MORE && at < len) {
        at = len - at < piece ? len : at + piece;
        f = mc_frame(buf, at, &s, &l2, &t2);
    }
    if (f != whole)
        abort();
    if (f == MC_FRAME_LINE && (l2 != line_len || t2 != total))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    fuzz_parse(buf, size);
    fuzz_frame(buf, size, size > 0 ? 1 + (unsigned char)buf[0] % 13 : 1);
    free(buf);
    return 0;
}
