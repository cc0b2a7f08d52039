/*
 * HTTP/1.1 request heads and the chunked body decoder; see http.h.
 *   RFC 9112 (HTTP/1.1): 2.2 message parsing, 3 request line, 5 field
 *     lines, 6 message body length, 7.1 chunked transfer coding;
 *   RFC 9110 (HTTP semantics): 2.5 versions, 5.6 lists and tokens,
 *     7.2 Host, 7.6.1 Connection, 8.6 Content-Length, 10.1.1 Expect.
 * Pure: no I/O, no allocation; every loop is bounded by the caller's
 * length and the limits.
 *
 * Where the RFCs allow a choice this parser takes the strict side, since
 * two parsers that disagree about where a request ends (a proxy and us)
 * are how requests get smuggled:
 *  - exactly one SP between the parts of the request line;
 *  - a line ends with CRLF or a bare LF (2.2); a CR anywhere else is 400;
 *  - obs-fold, whitespace before a field's colon and control characters
 *    in a field value are 400 (5.1, 5.2, 5.5);
 *  - Transfer-Encoding together with Content-Length, or in an HTTP/1.0
 *    request, is 400 (6.1 lets a server refuse both); so is chunked twice;
 *  - a transfer coding other than chunked is 501 (6.1): we decode no other.
 * The request line limit counts the line without its CRLF; the header
 * limit counts the whole head from buf[0]: empty lines before the request
 * line and the final empty line included.
 */
#include "http.h"

#include <limits.h>
#include <string.h>

#define CHUNK_LINE_MAX 4096     /* a chunk-size line with its extensions */
#define TRAILER_MAX 65536       /* the trailer section, all lines together */

/* The chunked decoder's states; CH_SIZE is 0 so that a zeroed struct starts. */
enum {
    CH_SIZE,        /* hex digits of chunk-size */
    CH_SIZE_WS,     /* whitespace after them, before ';' or the line end */
    CH_EXT,         /* chunk extensions: ignored up to the line end */
    CH_SIZE_LF,     /* CR seen on the size line, LF must follow */
    CH_DATA,        /* c->left bytes of chunk data */
    CH_DATA_END,    /* the CRLF (or LF) after the data */
    CH_DATA_LF,     /* CR seen after the data, LF must follow */
    CH_TRAILER,     /* a trailer field line: ignored */
    CH_TRAILER_LF,  /* CR seen on a trailer line, LF must follow */
    CH_DONE,
    CH_ERROR,       /* sticky: the stream cannot be resynchronised */
};

/* One line of the head: its text without the line end, then the next. */
struct line {
    size_t start, end, next;
};

/* What the fields said, judged once the head is complete. */
struct head_state {
    int te_seen, te_codings, te_chunked, te_other;
    int conn_close, conn_keep;
    int expect_continue;
    struct http_str authority;      /* of an absolute-form target */
};

/* A cursor over a comma-separated list (RFC 9110 5.6.1). */
struct list_iter {
    const char *p, *end;
    int done;
};

static const struct {
    const char *name;
    enum http_method method;
} http_methods[] = {
    { "GET", HTTP_GET },         { "HEAD", HTTP_HEAD },   { "POST", HTTP_POST },
    { "PUT", HTTP_PUT },         { "DELETE", HTTP_DELETE }, { "OPTIONS", HTTP_OPTIONS },
    { "PATCH", HTTP_PATCH },     { "TRACE", HTTP_TRACE }, { "CONNECT", HTTP_CONNECT },
};

/* ASCII only: the C library's would follow the locale. */
static int http_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int http_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int http_is_alnum(int c)
{
    return http_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* tchar, RFC 9110 5.6.2. */
static int http_is_tchar(int c)
{
    return http_is_alnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* field-vchar, SP and HTAB (RFC 9110 5.5); obs-text is let through. */
static int http_is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* What Host and an absolute-form authority may hold: reg-name, an IP
 * literal and a port (RFC 3986 3.2).  No '@': userinfo is refused (RFC
 * 9110 4.2.4), and no '/' or whitespace that would leak into a URL. */
static int http_is_host_char(int c)
{
    return http_is_alnum(c) || (c != 0 && strchr("-._~!$&'()*+,;=:[]%", c) != NULL);
}

int http_str_eq(struct http_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (http_lower((unsigned char)s.p[i]) != http_lower((unsigned char)lit[i]))
            return 0;
    return 1;
}

const struct http_str *http_header_get(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (http_str_eq(req->headers[i].name, name))
            return &req->headers[i].value;
    return NULL;
}

static size_t token_len(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && http_is_tchar((unsigned char)s[i]))
        i++;
    return i;
}

/* Strips OWS (SP and HTAB) from both ends. */
static struct http_str trim_ows(struct http_str s)
{
    while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* The next element, trimmed; empty ones too, as the caller may care. */
static int list_next(struct list_iter *it, struct http_str *elem)
{
    if (it->done)
        return 0;
    const char *comma = memchr(it->p, ',', (size_t)(it->end - it->p));
    const char *stop = comma ? comma : it->end;
    *elem = trim_ows((struct http_str){ it->p, (size_t)(stop - it->p) });
    if (comma)
        it->p = comma + 1;
    else
        it->done = 1;
    return 1;
}

/* 1*DIGIT into *v; -1 when empty, not digits, or past 2^64-1. */
static int parse_u64(struct http_str s, uint64_t *v)
{
    uint64_t n = 0;
    if (s.len == 0)
        return -1;
    for (size_t i = 0; i < s.len; i++) {
        if (!http_is_digit((unsigned char)s.p[i]))
            return -1;
        unsigned d = (unsigned)(s.p[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *v = n;
    return 0;
}

/* Finds the line at pos; 0 while its LF has not arrived. */
static int next_line(const char *buf, size_t pos, size_t len, struct line *ln)
{
    const char *lf = memchr(buf + pos, '\n', len - pos);
    if (lf == NULL)
        return 0;
    ln->start = pos;
    ln->next = (size_t)(lf - buf) + 1;
    ln->end = ln->next - 1;
    if (ln->end > pos && buf[ln->end - 1] == '\r')
        ln->end--;
    return 1;
}

/* Empty lines before the request line (RFC 9112 2.2); stops at a lone CR
 * so that it is refused as part of the request line. */
static size_t skip_empty_lines(const char *buf, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        if (buf[pos] == '\n')
            pos++;
        else if (buf[pos] == '\r' && pos + 1 < len && buf[pos + 1] == '\n')
            pos += 2;
        else
            break;
    }
    return pos;
}

/* The request line has not ended yet: refuse it as soon as it is too long,
 * or cannot be one (a TLS hello on the plain port), rather than waiting. */
static int partial_request_line(const char *buf, size_t pos, size_t len,
                                const struct http_limits *lim, size_t max_head)
{
    size_t n = len - pos;
    if (n > 0 && buf[len - 1] == '\r')
        n--;    /* may be the CR of the CRLF */
    if (n > lim->max_request_line)
        return -414;
    for (size_t i = pos; i < pos + n && buf[i] != ' '; i++)
        if (!http_is_tchar((unsigned char)buf[i]))
            return -400;
    return len >= max_head ? -431 : 0;
}

static enum http_method method_of(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof http_methods / sizeof http_methods[0]; i++)
        if (strlen(http_methods[i].name) == n && memcmp(http_methods[i].name, s, n) == 0)
            return http_methods[i].method;
    return HTTP_OTHER;    /* methods are case-sensitive: "get" lands here */
}

/* "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 2.3). */
static int parse_version(const char *v, size_t n, int *minor)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !http_is_digit((unsigned char)v[5]) ||
        v[6] != '.' || !http_is_digit((unsigned char)v[7]))
        return -400;
    if (v[5] != '1')
        return -505;
    *minor = v[7] == '0' ? 0 : 1;   /* 1.2 and later are read as 1.1 (RFC 9110 2.5) */
    return 0;
}

/* Length of "http://" or "https://" (any case) at t, else 0. */
static size_t scheme_len(const char *t, size_t n)
{
    if (n >= 7 && http_str_eq((struct http_str){ t, 7 }, "http://"))
        return 7;
    if (n >= 8 && http_str_eq((struct http_str){ t, 8 }, "https://"))
        return 8;
    return 0;
}

/* The forms of RFC 9112 3.2 that a server answers: origin, absolute and,
 * for OPTIONS only, asterisk; authority-form is a proxy's. */
static int set_target(struct http_request *req, struct head_state *st, const char *t, size_t n)
{
    size_t skip = scheme_len(t, n);
    req->target = (struct http_str){ t, n };
    if (n == 1 && t[0] == '*') {
        if (req->method != HTTP_OPTIONS)
            return -400;
    } else if (skip > 0) {
        size_t a = skip;
        while (a < n && t[a] != '/' && t[a] != '?')
            if (!http_is_host_char((unsigned char)t[a++]))
                return -400;
        if (a == skip)
            return -400;    /* an http URI needs a host (RFC 9110 4.2.1) */
        st->authority = (struct http_str){ t + skip, a - skip };
    } else if (t[0] != '/') {
        return -400;
    }
    const char *q = memchr(t, '?', n);
    size_t plen = q ? (size_t)(q - t) : n;
    req->path = (struct http_str){ t, plen };
    req->query = q ? (struct http_str){ q + 1, n - plen - 1 } : (struct http_str){ t + n, 0 };
    return 0;
}

/* method SP request-target SP HTTP-version (RFC 9112 3). */
static int parse_request_line(const char *s, size_t n, struct http_request *req,
                              struct head_state *st)
{
    size_t m = token_len(s, n);
    if (m == 0 || m == n || s[m] != ' ')
        return -400;
    req->method_text = (struct http_str){ s, m };
    req->method = method_of(s, m);
    const char *t = s + m + 1;
    size_t rest = n - m - 1, tl = 0;
    while (tl < rest && (unsigned char)t[tl] > 0x20 && t[tl] != 0x7f)
        tl++;
    if (tl == 0 || tl == rest || t[tl] != ' ')
        return -400;
    int r = parse_version(t + tl + 1, rest - tl - 1, &req->version_minor);
    if (r < 0)
        return r;
    return set_target(req, st, t, tl);
}

static int field_host(struct http_request *req, struct http_str v)
{
    if (req->has_host)
        return -400;    /* RFC 9112 3.2: more than one Host */
    for (size_t i = 0; i < v.len; i++)
        if (!http_is_host_char((unsigned char)v.p[i]))
            return -400;
    req->has_host = 1;
    req->host = v;
    return 0;
}

/* A list of identical values is one value (RFC 9110 8.6). */
static int field_length(struct http_request *req, struct http_str v)
{
    struct list_iter it = { v.p, v.p + v.len, 0 };
    struct http_str e;
    while (list_next(&it, &e)) {
        uint64_t n;
        if (parse_u64(e, &n) < 0 || (req->has_length && n != req->content_length))
            return -400;
        req->has_length = 1;
        req->content_length = n;
    }
    return 0;
}

/* Codings are only counted here; finish_head() judges them. */
static int field_te(struct head_state *st, struct http_str v)
{
    struct list_iter it = { v.p, v.p + v.len, 0 };
    struct http_str e;
    st->te_seen = 1;
    while (list_next(&it, &e)) {
        if (e.len == 0)
            continue;
        st->te_codings++;
        if (http_str_eq(e, "chunked"))
            st->te_chunked++;
        else
            st->te_other++;
    }
    return 0;
}

static void field_connection(struct head_state *st, struct http_str v)
{
    struct list_iter it = { v.p, v.p + v.len, 0 };
    struct http_str e;
    while (list_next(&it, &e)) {
        if (http_str_eq(e, "close"))
            st->conn_close = 1;
        else if (http_str_eq(e, "keep-alive"))
            st->conn_keep = 1;
    }
}

static int apply_field(struct http_request *req, struct head_state *st, const struct http_header *h)
{
    if (http_str_eq(h->name, "host"))
        return field_host(req, h->value);
    if (http_str_eq(h->name, "content-length"))
        return field_length(req, h->value);
    if (http_str_eq(h->name, "transfer-encoding"))
        return field_te(st, h->value);
    if (http_str_eq(h->name, "connection"))
        field_connection(st, h->value);
    else if (http_str_eq(h->name, "expect") && http_str_eq(h->value, "100-continue"))
        st->expect_continue = 1;
    return 0;
}

/* field-name ":" OWS field-value OWS (RFC 9112 5).  A line starting with
 * whitespace (obs-fold) or with whitespace before the colon fails the
 * token test and is 400, as 5.1 and 5.2 ask of a server. */
static int parse_field_line(const char *s, size_t n, struct http_request *req,
                            struct head_state *st, size_t max_headers)
{
    size_t name = token_len(s, n);
    if (name == 0 || name == n || s[name] != ':')
        return -400;
    struct http_str v = trim_ows((struct http_str){ s + name + 1, n - name - 1 });
    for (size_t i = 0; i < v.len; i++)
        if (!http_is_field_char((unsigned char)v.p[i]))
            return -400;    /* NUL, a stray CR, other controls */
    if (req->n_headers >= max_headers)
        return -431;
    struct http_header *h = &req->headers[req->n_headers++];
    h->name = (struct http_str){ s, name };
    h->value = v;
    return apply_field(req, st, h);
}

static int finish_head(struct http_request *req, const struct head_state *st)
{
    if (req->version_minor == 1 && !req->has_host)
        return -400;    /* RFC 9112 3.2 */
    if (st->te_seen) {
        if (req->version_minor == 0 || req->has_length || st->te_codings == 0 ||
            st->te_chunked > 1)
            return -400;
        if (st->te_other)
            return -501;
        req->chunked = 1;
    }
    if (st->authority.p) {  /* the target's authority wins (RFC 9112 3.2.2) */
        req->host = st->authority;
        req->has_host = 1;
    }
    req->keep_alive = req->version_minor == 1 ? !st->conn_close
                                              : st->conn_keep && !st->conn_close;
    /* 100-continue means nothing from an HTTP/1.0 client (RFC 9110 10.1.1). */
    req->expect_continue = req->version_minor == 1 && st->expect_continue;
    return 0;
}

/* The field lines from pos to the empty line; the head's length or 0/-N. */
static int parse_fields(const char *buf, size_t pos, size_t len, size_t max_head,
                        size_t max_headers, struct http_request *req, struct head_state *st)
{
    struct line ln;
    for (;;) {
        if (!next_line(buf, pos, len, &ln))
            return len >= max_head ? -431 : 0;
        if (ln.next > max_head)
            return -431;
        if (ln.end == ln.start)
            break;
        int r = parse_field_line(buf + ln.start, ln.end - ln.start, req, st, max_headers);
        if (r < 0)
            return r;
        pos = ln.next;
    }
    int r = finish_head(req, st);
    return r < 0 ? r : (int)ln.next;
}

int http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
                       struct http_request *req)
{
    struct head_state st = { 0 };
    struct line ln;
    size_t max_head = lim->max_header_bytes < INT_MAX ? lim->max_header_bytes : INT_MAX;
    size_t max_headers = lim->max_headers < HTTP_MAX_HEADERS ? lim->max_headers
                                                             : HTTP_MAX_HEADERS;
    memset(req, 0, sizeof *req);
    if (len == 0)
        return 0;
    size_t pos = skip_empty_lines(buf, len);
    if (!next_line(buf, pos, len, &ln))
        return partial_request_line(buf, pos, len, lim, max_head);
    if (ln.end - ln.start > lim->max_request_line)
        return -414;
    if (ln.next > max_head)
        return -431;
    int r = parse_request_line(buf + ln.start, ln.end - ln.start, req, &st);
    if (r < 0)
        return r;
    return parse_fields(buf, ln.next, len, max_head, max_headers, req, &st);
}

/* --- chunked transfer coding (RFC 9112 7.1) --- */

static int hex_value(unsigned char c)
{
    if (http_is_digit(c))
        return c - '0';
    c = (unsigned char)http_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int is_line_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* The size line ended: data follows, or the trailer after last-chunk. */
static void end_size_line(struct http_chunked *c)
{
    c->line_len = 0;
    c->state = c->left > 0 ? CH_DATA : CH_TRAILER;
    /* c->left stays 0 in the trailer and counts its bytes there. */
}

static void end_trailer_line(struct http_chunked *c)
{
    c->state = c->line_len == 0 ? CH_DONE : CH_TRAILER;
    c->line_len = 0;
}

/* chunk-size [ chunk-ext ] CRLF.  Only whitespace and ';' may follow the
 * digits: "1 2" must not be read as 1 here and as 0x12 by someone else. */
static int step_size_line(struct http_chunked *c, unsigned char ch)
{
    if (++c->line_len > CHUNK_LINE_MAX)
        return -1;
    int h = hex_value(ch);
    if (c->state == CH_SIZE && h >= 0) {
        if (c->left > (UINT64_MAX >> 4))
            return -1;
        c->left = (c->left << 4) | (uint64_t)h;
        return 0;
    }
    if (c->state == CH_SIZE && c->line_len == 1)
        return -1;    /* no digits at all */
    if (c->state != CH_EXT && (ch == ' ' || ch == '\t'))
        c->state = CH_SIZE_WS;
    else if (c->state != CH_EXT && ch == ';')
        c->state = CH_EXT;
    else if (ch == '\r')
        c->state = CH_SIZE_LF;
    else if (ch == '\n')
        end_size_line(c);
    else if (c->state != CH_EXT || is_line_ctl(ch))
        return -1;
    return 0;
}

static int step_trailer(struct http_chunked *c, unsigned char ch)
{
    if (ch == '\r') {
        c->state = CH_TRAILER_LF;
        return 0;
    }
    if (ch == '\n') {
        end_trailer_line(c);
        return 0;
    }
    if (is_line_ctl(ch) || ++c->left > TRAILER_MAX)
        return -1;
    c->line_len++;
    return 0;
}

/* One byte outside chunk data; -1 when it cannot be there. */
static int chunked_step(struct http_chunked *c, unsigned char ch)
{
    switch (c->state) {
    case CH_SIZE: case CH_SIZE_WS: case CH_EXT:
        return step_size_line(c, ch);
    case CH_SIZE_LF:
        if (ch != '\n')
            return -1;
        end_size_line(c);
        return 0;
    case CH_DATA_END:
        if (ch == '\r')
            c->state = CH_DATA_LF;
        else if (ch == '\n')
            c->state = CH_SIZE;
        else
            return -1;
        return 0;
    case CH_DATA_LF:
        if (ch != '\n')
            return -1;
        c->state = CH_SIZE;
        return 0;
    case CH_TRAILER:
        return step_trailer(c, ch);
    case CH_TRAILER_LF:
        if (ch != '\n')
            return -1;
        end_trailer_line(c);
        return 0;
    default:
        return -1;
    }
}

int http_chunked_decode(struct http_chunked *c, const char *in, size_t len, size_t *consumed,
                        char *out, size_t out_room, size_t *produced)
{
    size_t i = 0, o = 0;
    int r = 0;
    while (i < len && c->state != CH_DONE && c->state != CH_ERROR) {
        if (c->state == CH_DATA) {
            size_t n = len - i < out_room - o ? len - i : out_room - o;
            if (n > c->left)
                n = (size_t)c->left;
            if (n == 0)
                break;    /* out is full */
            memcpy(out + o, in + i, n);
            i += n;
            o += n;
            c->left -= n;
            if (c->left == 0)
                c->state = CH_DATA_END;
            continue;
        }
        r = chunked_step(c, (unsigned char)in[i]);
        if (r < 0) {
            c->state = CH_ERROR;
            break;
        }
        i++;
    }
    *consumed = i;
    *produced = o;
    if (c->state == CH_ERROR)
        return -1;
    return c->state == CH_DONE;
}
