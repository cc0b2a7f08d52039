/*
 * Request paths: decoding and normalisation before any file is touched,
 * and the escapes for writing a path back out; see path.h.
 *   RFC 3986 2.1 percent-encoding, 2.3 unreserved characters, 3.3 path,
 *     5.2.4 dot segments;
 *   RFC 9112 3.2 request-target forms (origin and absolute);
 *   RFC 3629 UTF-8 (overlong forms, surrogates, the U+10FFFF ceiling).
 * Pure: no I/O, no allocation.
 *
 * Everything is judged after decoding, so "%2e%2e" is "..", and a byte
 * that can only mean trouble on a file system is refused outright rather
 * than passed on: NUL, '\\', control characters, an encoded '/' (it would
 * split a segment that the client sent as one).  A ".." that would climb
 * above the root is refused too, where RFC 3986 would quietly drop it, so
 * such probes are visible in the log.  out doubles as the scratch space:
 * a segment is decoded in place and then kept, skipped or popped, so a
 * path whose unresolved form does not fit is -414 even if its result would.
 */
#include "path.h"

#include <string.h>

struct norm {
    char *out;
    size_t size;        /* of out */
    size_t len;         /* of the result so far */
    size_t depth;       /* segments in it */
};

static int path_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The byte of "%XX" at s (n bytes left), or -1 when malformed. */
static int unescape(const char *s, size_t n)
{
    if (n < 3)
        return -1;
    int hi = path_hex((unsigned char)s[1]), lo = path_hex((unsigned char)s[2]);
    return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

/* Length of the sequence that starts with lead, and the range its second
 * byte must fall in; this is what rules out overlong forms (C0, C1, E0 80,
 * F0 80), surrogates (ED A0..BF) and code points past U+10FFFF (F4 90, F5..). */
static size_t utf8_lead(unsigned char lead, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf)
        return 2;
    if (lead >= 0xe0 && lead <= 0xef) {
        if (lead == 0xe0)
            *lo = 0xa0;
        else if (lead == 0xed)
            *hi = 0x9f;
        return 3;
    }
    if (lead >= 0xf0 && lead <= 0xf4) {
        if (lead == 0xf0)
            *lo = 0x90;
        else if (lead == 0xf4)
            *hi = 0x8f;
        return 4;
    }
    return 0;
}

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char lo, hi;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_lead(s[i], &lo, &hi);
        if (k == 0 || n - i < k || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t j = 2; j < k; j++)
            if (s[i + j] < 0x80 || s[i + j] > 0xbf)
                return 0;
        i += k;
    }
    return 1;
}

/* ".." : drops the last segment, or refuses to climb above the root. */
static int pop_segment(struct norm *st)
{
    if (st->depth == 0)
        return -400;
    if (--st->depth == 0) {
        st->len = 0;
        return 0;
    }
    while (st->out[st->len - 1] != '/')
        st->len--;
    st->len--;
    return 0;
}

/* Decodes one segment (the bytes between two raw slashes) after the
 * result so far, then keeps it, skips it ("" and ".") or pops (".."). */
static int add_segment(struct norm *st, const char *s, size_t n)
{
    size_t at = st->len + (st->depth > 0), end = at;    /* room for the '/' */
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            c = unescape(s + i, n - i);
            if (c < 0 || c == '/')
                return -400;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || c == '\\')
            return -400;
        if (end + 1 >= st->size)
            return -414;    /* and keep room for the NUL */
        st->out[end++] = (char)c;
    }
    const char *d = st->out + at;
    size_t seg = end - at;
    if (seg == 0 || (seg == 1 && d[0] == '.'))
        return 0;
    if (seg == 2 && d[0] == '.' && d[1] == '.')
        return pop_segment(st);
    if (!utf8_valid((const unsigned char *)d, seg))
        return -400;
    if (st->depth > 0)
        st->out[st->len] = '/';
    st->len = end;
    st->depth++;
    return 0;
}

/* Whether s starts with lit (lower case), ignoring ASCII case only. */
static int prefix_ci(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++) {
        int c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != lit[i])
            return 0;
    }
    return 1;
}

/* Narrows *t to the path: past "http://host:port" in absolute-form
 * ("/" when nothing follows it), and up to '?' or '#'. */
static void path_part(const char **t, size_t *n)
{
    static const char root[] = "/";
    const char *p = *t;
    size_t len = *n, skip = 0;
    if (prefix_ci(p, len, "http://"))
        skip = 7;
    else if (prefix_ci(p, len, "https://"))
        skip = 8;
    if (skip > 0) {
        while (skip < len && p[skip] != '/' && p[skip] != '?' && p[skip] != '#')
            skip++;
        if (skip == len || p[skip] != '/') {
            *t = root;
            *n = 1;
            return;
        }
    }
    p += skip;
    len -= skip;
    size_t end = 0;
    while (end < len && p[end] != '?' && p[end] != '#')
        end++;
    *t = p;
    *n = end;
}

int path_normalise(const char *target, size_t len, char *out, size_t outlen, int *dir_slash)
{
    struct norm st = { out, outlen, 0, 0 };
    const char *p = target;
    size_t n = len;
    if (dir_slash)
        *dir_slash = 0;
    if (outlen == 0)
        return -414;
    out[0] = '\0';
    path_part(&p, &n);
    if (n == 0 || p[0] != '/')
        return -400;
    for (size_t i = 1;;) {
        const char *slash = memchr(p + i, '/', n - i);
        size_t j = slash ? (size_t)(slash - p) : n;
        int r = add_segment(&st, p + i, j - i);
        if (r < 0) {
            out[0] = '\0';
            return r;
        }
        if (j == n)
            break;
        i = j + 1;
    }
    out[st.len] = '\0';
    if (dir_slash)
        *dir_slash = p[n - 1] == '/';
    return 0;
}

/* RFC 3986 2.3 unreserved, and '/' which separates the segments. */
static int url_keep(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
}

/* Both encoders write whole escapes only: a cut "%2" or "&am" in a page
 * would be worse than a short name. */
size_t path_url_encode(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    if (outlen == 0)
        return 0;
    for (; *in; in++) {
        unsigned char c = (unsigned char)*in;
        if (url_keep(c)) {
            if (o + 1 >= outlen)
                break;
            out[o++] = (char)c;
        } else {
            if (o + 3 >= outlen)
                break;
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return o;
}

static const char *html_entity(char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return NULL;
    }
}

size_t path_html_escape(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0)
        return 0;
    for (; *in; in++) {
        const char *e = html_entity(*in);
        size_t n = e ? strlen(e) : 1;
        if (o + n >= outlen)
            break;
        if (e)
            memcpy(out + o, e, n);
        else
            out[o] = *in;
        o += n;
    }
    out[o] = '\0';
    return o;
}
