/*
 * JSON for pycached; see jsonval.h.  RFC 8259 (JSON), RFC 3629 (UTF-8).
 *
 * Three pieces: a framer that finds where a top-level value ends in a
 * stream without parsing it, a strict parser of one request object that
 * only records where its members are, and the string codec.  Input is
 * hostile: every index is checked against its length, nesting is
 * bounded, and nothing is allocated.
 */
#include "jsonval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

enum frame_kind { FK_NONE, FK_CONTAINER, FK_STRING, FK_BARE };

/* What went wrong in a string literal; 0 is none. */
enum str_error {
    STR_OK, STR_SHAPE, STR_CONTROL, STR_ESCAPE, STR_UESCAPE, STR_SURROGATE, STR_UTF8,
    STR_ROOM,
};

static const char *const str_messages[] = {
    [STR_OK] = "", [STR_SHAPE] = "not a string", [STR_CONTROL] = "control character in a string",
    [STR_ESCAPE] = "invalid escape in a string", [STR_UESCAPE] = "invalid \\u escape in a string",
    [STR_SURROGATE] = "unpaired surrogate in a string", [STR_UTF8] = "invalid UTF-8 in a string",
    [STR_ROOM] = "string too long",
};

/* Where decoded bytes go: out NULL only checks. */
struct sink {
    char *out;
    size_t room, n;
};

/* The parser's position and where its message goes (err NULL: nowhere). */
struct pctx {
    const char *p;
    size_t n, i;
    char *err;
    size_t errlen;
};

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The length of the valid UTF-8 sequence at p[0..n), 0 when invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* --- framing --------------------------------------------------------- */

void json_framer_reset(struct json_framer *f)
{
    memset(f, 0, sizeof *f);
}

static void frame_begin(struct json_framer *f, unsigned char c)
{
    if (c == '{' || c == '[') {
        f->kind = FK_CONTAINER;
        f->depth = 1;
    } else if (c == '"') {
        f->kind = FK_STRING;
        f->in_string = 1;
    } else {
        f->kind = FK_BARE;
    }
    f->len = 1;
}

/* One more byte of a string or container value: 1 when it ends it. */
static int frame_byte(struct json_framer *f, unsigned char c)
{
    if (f->in_string) {
        if (f->escape) {
            f->escape = 0;
        } else if (c == '\\') {
            f->escape = 1;
        } else if (c == '"') {
            f->in_string = 0;
            return f->kind == FK_STRING;
        }
        return 0;
    }
    if (c == '"') {
        f->in_string = 1;
    } else if (c == '{' || c == '[') {
        f->depth++;
    } else if (c == '}' || c == ']') {
        f->depth--;      /* >= 1 here: the value ends when it reaches 0 */
        return f->depth == 0;
    }
    return 0;
}

enum json_frame_status json_frame(struct json_framer *f, const char *p, size_t n, size_t max)
{
    size_t i = 0;
    if (f->kind == FK_NONE) {
        while (i < n && is_ws((unsigned char)p[i]))
            i++;
        f->skip += i;
        if (i == n)
            return JSON_FRAME_MORE;
        if (max == 0)
            return JSON_FRAME_TOO_LARGE;
        frame_begin(f, (unsigned char)p[i++]);
    }
    for (; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        /* A bare word ends before whatever cannot be part of it. */
        if (f->kind == FK_BARE && (is_ws(c) || c == '{' || c == '[' || c == '"'))
            return JSON_FRAME_DONE;
        if (f->len >= max)
            return JSON_FRAME_TOO_LARGE;
        f->len++;
        if (f->kind != FK_BARE && frame_byte(f, c))
            return JSON_FRAME_DONE;
    }
    return JSON_FRAME_MORE;
}

/* --- strings --------------------------------------------------------- */

static int sink_put(struct sink *s, const void *b, size_t k)
{
    if (s->out) {
        if (k > s->room - s->n)
            return -1;
        memmove(s->out + s->n, b, k);    /* may overlap when decoding in place */
    }
    s->n += k;
    return 0;
}

static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = is_digit((unsigned char)c) ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t utf8_put(char *b, long cp)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* \uXXXX at lit[*i] (a high surrogate takes its low half along), with
 * the string's closing quote at lit[end]. */
static int walk_unicode(const char *lit, size_t end, size_t *i, long *cp)
{
    if (end - *i < 6 || (*cp = hex4(lit + *i + 2)) < 0)
        return STR_UESCAPE;
    *i += 6;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF)
        return STR_SURROGATE;
    if (*cp < 0xD800 || *cp > 0xDBFF)
        return STR_OK;
    long lo;
    if (end - *i < 6 || lit[*i] != '\\' || lit[*i + 1] != 'u')
        return STR_SURROGATE;
    if ((lo = hex4(lit + *i + 2)) < 0)
        return STR_UESCAPE;
    if (lo < 0xDC00 || lo > 0xDFFF)
        return STR_SURROGATE;
    *i += 6;
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
    return STR_OK;
}

static int walk_escape(const char *lit, size_t end, size_t *i, struct sink *s)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    char b[4];
    size_t k = 1;
    if (end - *i < 2)
        return STR_ESCAPE;
    char e = lit[*i + 1];
    const char *at = e ? strchr(from, e) : NULL;
    if (at) {
        b[0] = to[at - from];
        *i += 2;
    } else if (e == 'u') {
        long cp;
        int r = walk_unicode(lit, end, i, &cp);
        if (r)
            return r;
        k = utf8_put(b, cp);
    } else {
        return STR_ESCAPE;
    }
    return sink_put(s, b, k) ? STR_ROOM : STR_OK;
}

/* A run of bytes copied as they are: valid UTF-8, no quote, backslash
 * or control character. */
static int walk_raw(const char *lit, size_t end, size_t *i, struct sink *s)
{
    const unsigned char *u = (const unsigned char *)lit;
    size_t j = *i;
    while (j < end && u[j] != '"' && u[j] != '\\' && u[j] >= 0x20) {
        size_t len = utf8_len(u + j, end - j);
        if (len == 0)
            return STR_UTF8;
        j += len;
    }
    int r = sink_put(s, lit + *i, j - *i) ? STR_ROOM : STR_OK;
    *i = j;
    return r;
}

static int string_walk(const char *lit, size_t n, struct sink *s)
{
    if (n < 2 || lit[0] != '"' || lit[n - 1] != '"')
        return STR_SHAPE;
    size_t end = n - 1, i = 1;
    while (i < end) {
        unsigned char c = (unsigned char)lit[i];
        int r;
        if (c == '"')
            return STR_SHAPE;
        if (c < 0x20)
            return STR_CONTROL;
        r = c == '\\' ? walk_escape(lit, end, &i, s) : walk_raw(lit, end, &i, s);
        if (r)
            return r;
    }
    return STR_OK;
}

int json_string_decode(const char *lit, size_t n, char *out, size_t outlen, size_t *outn)
{
    struct sink s = { out, outlen, 0 };
    if (!out || string_walk(lit, n, &s) != STR_OK)
        return -1;
    *outn = s.n;
    return 0;
}

/* The escape of one byte that cannot go out as it is. */
static void put_special(struct evbuffer *out, unsigned char c)
{
    static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
    const char *at = c ? memchr(from, c, sizeof from - 1) : NULL;
    char b[8];
    if (at) {
        b[0] = '\\';
        b[1] = to[at - from];
        evbuffer_add(out, b, 2);
    } else if (c < 0x20) {
        snprintf(b, sizeof b, "\\u%04x", c);
        evbuffer_add(out, b, 6);
    } else {
        evbuffer_add(out, "\xEF\xBF\xBD", 3);   /* U+FFFD for a stray byte */
    }
}

void json_put_string(struct evbuffer *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    evbuffer_add(out, "\"", 1);
    while (i < n) {
        size_t j = i, len;
        while (j < n && u[j] != '"' && u[j] != '\\' && u[j] >= 0x20 &&
               (len = utf8_len(u + j, n - j)) > 0)
            j += len;
        if (j > i) {
            evbuffer_add(out, s + i, j - i);
            i = j;
        } else {
            put_special(out, u[i++]);
        }
    }
    evbuffer_add(out, "\"", 1);
}

/* --- parsing --------------------------------------------------------- */

static int fail(struct pctx *c, const char *what)
{
    if (!c->err)
        return -1;
    if (c->i >= c->n)
        snprintf(c->err, c->errlen, "invalid JSON: unexpected end of the request");
    else
        snprintf(c->err, c->errlen, "invalid JSON at byte %zu: %s", c->i, what);
    return -1;
}

static void skip_ws(struct pctx *c)
{
    while (c->i < c->n && is_ws((unsigned char)c->p[c->i]))
        c->i++;
}

static int parse_value(struct pctx *c, unsigned depth, enum json_type *type);
static int parse_elements(struct pctx *c, unsigned depth, char close, struct json_request *r);

/* A string literal at c->i (its opening quote): found by its closing
 * quote, then checked whole. */
static int parse_string(struct pctx *c)
{
    size_t j = c->i + 1;
    while (j < c->n && c->p[j] != '"')
        j += c->p[j] == '\\' ? 2 : 1;
    if (j >= c->n) {
        c->i = c->n;
        return fail(c, "");
    }
    struct sink s = { NULL, 0, 0 };
    int r = string_walk(c->p + c->i, j + 1 - c->i, &s);
    if (r != STR_OK)
        return fail(c, str_messages[r]);
    c->i = j + 1;
    return 0;
}

static void skip_digits(struct pctx *c)
{
    while (c->i < c->n && is_digit((unsigned char)c->p[c->i]))
        c->i++;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(struct pctx *c)
{
    if (c->p[c->i] == '-')
        c->i++;
    if (c->i >= c->n || !is_digit((unsigned char)c->p[c->i]))
        return fail(c, "invalid number");
    if (c->p[c->i++] != '0')
        skip_digits(c);
    if (c->i < c->n && c->p[c->i] == '.') {
        c->i++;
        if (c->i >= c->n || !is_digit((unsigned char)c->p[c->i]))
            return fail(c, "invalid number: digits must follow '.'");
        skip_digits(c);
    }
    if (c->i < c->n && (c->p[c->i] == 'e' || c->p[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->p[c->i] == '+' || c->p[c->i] == '-'))
            c->i++;
        if (c->i >= c->n || !is_digit((unsigned char)c->p[c->i]))
            return fail(c, "invalid number: digits must follow the exponent");
        skip_digits(c);
    }
    return 0;
}

static int parse_word(struct pctx *c, const char *word)
{
    size_t len = strlen(word);
    if (c->n - c->i < len || memcmp(c->p + c->i, word, len) != 0)
        return fail(c, "unexpected character");
    c->i += len;
    return 0;
}

/* The value at c->i (whitespace already skipped); depth counts the
 * containers around it. */
static int parse_value(struct pctx *c, unsigned depth, enum json_type *type)
{
    if (c->i >= c->n)
        return fail(c, "");
    char ch = c->p[c->i];
    if (ch == '{' || ch == '[') {
        if (depth >= JSON_MAX_DEPTH)
            return fail(c, "nested too deeply");
        c->i++;
        *type = ch == '{' ? JSON_OBJECT : JSON_ARRAY;
        return parse_elements(c, depth + 1, ch == '{' ? '}' : ']', NULL);
    }
    if (ch == '"') {
        *type = JSON_STRING;
        return parse_string(c);
    }
    if (ch == '-' || is_digit((unsigned char)ch)) {
        *type = JSON_NUMBER;
        return parse_number(c);
    }
    *type = ch == 't' ? JSON_TRUE : ch == 'f' ? JSON_FALSE : JSON_NULL;
    return parse_word(c, ch == 't' ? "true" : ch == 'f' ? "false" : "null");
}

/* Which member of the request the literal name[0..n) names. */
static struct json_member *member_named(struct json_request *r, const char *name, size_t n)
{
    static const char *const names[] = { "command", "key", "value", "ttl" };
    struct json_member *m[] = { &r->command, &r->key, &r->value, &r->ttl };
    char buf[16];
    size_t len;
    if (json_string_decode(name, n, buf, sizeof buf, &len) == -1)
        return NULL;    /* longer than any name we know */
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strlen(names[k]) == len && memcmp(names[k], buf, len) == 0)
            return m[k];
    return NULL;
}

/* The request's member name[0..n): where to record it, or NULL and a
 * message when it is unknown or a duplicate. */
static struct json_member *request_member(struct pctx *c, struct json_request *r,
                                          const char *name, size_t n)
{
    struct json_member *m = member_named(r, name, n);
    if (m && m->type == JSON_ABSENT)
        return m;
    int cut = n > 64 ? 64 : (int)n;
    snprintf(c->err, c->errlen, "%s member %.*s%s", m ? "duplicate" : "unknown", cut, name,
             (size_t)cut < n ? "..." : "");
    return NULL;
}

/* One "name": value at c->i; r is the request when this is one of its
 * own members, NULL deeper down. */
static int parse_member(struct pctx *c, unsigned depth, struct json_request *r)
{
    struct json_member scratch = { 0 }, *m = &scratch;
    size_t start = c->i;
    if (c->i >= c->n || c->p[c->i] != '"')
        return fail(c, "expected a member name");
    if (parse_string(c))
        return -1;
    if (r && !(m = request_member(c, r, c->p + start, c->i - start)))
        return -1;
    skip_ws(c);
    if (c->i >= c->n || c->p[c->i] != ':')
        return fail(c, "expected ':'");
    c->i++;
    skip_ws(c);
    start = c->i;
    if (parse_value(c, depth, &m->type))
        return -1;
    m->p = c->p + start;
    m->n = c->i - start;
    return 0;
}

/* After '[' or '{': the elements up to the closing bracket. */
static int parse_elements(struct pctx *c, unsigned depth, char close, struct json_request *r)
{
    enum json_type t;
    skip_ws(c);
    if (c->i < c->n && c->p[c->i] == close) {
        c->i++;
        return 0;
    }
    for (;;) {
        if (close == '}' ? parse_member(c, depth, r) : parse_value(c, depth, &t))
            return -1;
        skip_ws(c);
        if (c->i < c->n && c->p[c->i] == close) {
            c->i++;
            return 0;
        }
        if (c->i >= c->n || c->p[c->i] != ',')
            return fail(c, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        c->i++;
        skip_ws(c);
    }
}

static int check_type(const struct json_member *m, const char *name, enum json_type want,
                      char *err, size_t errlen)
{
    if (m->type == JSON_ABSENT || m->type == want)
        return 0;
    snprintf(err, errlen, "\"%s\" must be %s, not %s", name, json_type_name(want),
             json_type_name(m->type));
    return -1;
}

int json_parse_request(const char *p, size_t n, struct json_request *r, char *err,
                       size_t errlen)
{
    struct pctx c = { p, n, 0, err, errlen };
    memset(r, 0, sizeof *r);
    skip_ws(&c);
    if (c.i >= n) {
        snprintf(err, errlen, "empty request");
        return -1;
    }
    if (p[c.i] != '{') {
        snprintf(err, errlen, "a request must be a JSON object");
        return -1;
    }
    c.i++;
    if (parse_elements(&c, 1, '}', r))
        return -1;
    skip_ws(&c);
    if (c.i < n)
        return fail(&c, "unexpected data after the request");
    if (check_type(&r->command, "command", JSON_STRING, err, errlen) ||
        check_type(&r->key, "key", JSON_STRING, err, errlen) ||
        check_type(&r->ttl, "ttl", JSON_NUMBER, err, errlen))
        return -1;
    return 0;
}

int json_number_value(const char *p, size_t n, double *out)
{
    char buf[64], *end;
    struct pctx c = { p, n, 0, NULL, 0 };    /* only whether it is a number */
    if (n == 0 || n >= sizeof buf || parse_number(&c) || c.i != n)
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    *out = strtod(buf, &end);    /* the C locale: '.' is the decimal point */
    return end == buf + n ? 0 : -1;
}

const char *json_type_name(enum json_type t)
{
    static const char *const names[] = {
        [JSON_ABSENT] = "nothing", [JSON_STRING] = "a string", [JSON_NUMBER] = "a number",
        [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_TRUE] = "true",
        [JSON_FALSE] = "false", [JSON_NULL] = "null",
    };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}
