/*
 * Master files for the DNS server: the lexer (RFC 1035 section 5.1:
 * blanks, ';' comments, parentheses across lines, quoted strings,
 * escapes), the directives ($ORIGIN, $INCLUDE, and $TTL from RFC 2308
 * section 4) and each record's owner, TTL and class, in BIND's
 * conventions.  The rdata of each type is read by zone_rdata.c.
 *
 * The text is hostile: a token is a view bounded by its length, nothing
 * relies on a terminating NUL, and every number and name is checked
 * before it is used.  The only allocation is the parser's own state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zone.h"
#include "zone_lex.h"

#define ZONE_INCLUDE_DEPTH 8
#define ZONE_DEFAULT_TTL 3600
#define ZONE_NAME_TEXT_MAX 1024    /* 255 bytes, each at most "\DDD" */
#define ZONE_PATH_MAX 1024

struct zone_state {
    struct zone_parse *zp;
    char *err;
    size_t errlen;
    struct dns_name origin;        /* for relative names */
    int have_origin;
    struct dns_name owner;         /* the previous record's, for blank owners */
    int have_owner;
    uint32_t zone_dir_ttl, last_ttl;    /* $TTL, and the previous record's TTL */
    int have_dir_ttl, have_last_ttl;
    int have_found;                /* zp->found_origin is set */
    uint8_t rdata[65535];          /* RFC 1035 3.2.1: RDLENGTH is 16 bits */
};

/* The head of a record: what stands before the rdata. */
struct zone_head {
    struct zone_tok owner;
    unsigned long owner_line;      /* for its messages, when ( ) spans lines */
    int has_owner;
    uint32_t ttl;
    int has_ttl;
    uint16_t type;
};

static int zone_text(struct zone_state *st, const char *file, const char *text, size_t len,
                     int depth);

int zone_fail(struct zone_lex *lx, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!lx->err || lx->errlen == 0)
        return -1;
    n = snprintf(lx->err, lx->errlen, "%s:%lu: ", lx->file, lx->tok_line);
    if (n >= 0 && (size_t)n < lx->errlen) {
        va_start(ap, fmt);
        vsnprintf(lx->err + n, lx->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *zone_tok_show(const struct zone_tok *t, char *buf, size_t size)
{
    size_t i, n = 0, max = size > 4 ? size - 4 : 0;

    for (i = 0; i < t->len && n < max; i++) {
        unsigned char c = (unsigned char)t->s[i];
        buf[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (i < t->len && size >= 4) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    if (size > 0)
        buf[n < size ? n : size - 1] = '\0';
    return buf;
}

/* ---- the lexer ---- */

static int zl_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static const char *zl_skip_comment(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

/* Moves to the next line holding a token; 1, or 0 at the end of the
 * text.  Blank and comment-only lines are skipped. */
static int zone_lex_begin(struct zone_lex *lx)
{
    for (;;) {
        const char *q = lx->p;
        while (q < lx->end && zl_blank(*q))
            q++;
        if (q < lx->end && *q == ';')
            q = zl_skip_comment(q, lx->end);
        if (q == lx->end) {
            lx->p = q;
            return 0;
        }
        if (*q == '\n') {
            lx->p = q + 1;
            lx->line++;
            continue;
        }
        lx->leading_ws = q != lx->p;
        lx->p = q;
        lx->tok_line = lx->line;
        lx->at_end = 0;
        lx->has_pushed = 0;
        return 1;
    }
}

/* "..." on one line; '\' protects the next byte, which stays in place. */
static int zl_quoted(struct zone_lex *lx, struct zone_tok *t)
{
    const char *q = lx->p + 1;

    while (q < lx->end && *q != '"' && *q != '\n') {
        if (*q == '\\' && q + 1 < lx->end && q[1] != '\n')
            q++;
        q++;
    }
    if (q >= lx->end || *q != '"')
        return zone_fail(lx, "unterminated quoted string");
    t->s = lx->p + 1;
    t->len = (size_t)(q - t->s);
    t->quoted = 1;
    lx->p = q + 1;
    return 1;
}

static int zl_word(struct zone_lex *lx, struct zone_tok *t)
{
    const char *q = lx->p;

    while (q < lx->end) {
        char c = *q;
        if (zl_blank(c) || c == '\n' || c == ';' || c == '(' || c == ')' || c == '"')
            break;
        if (c == '\\' && q + 1 < lx->end && q[1] != '\n')
            q++;
        q++;
    }
    t->s = lx->p;
    t->len = (size_t)(q - lx->p);
    t->quoted = 0;
    lx->p = q;
    return 1;
}

/* A newline or the end of the text closes the record unless a '(' is
 * open (RFC 1035 5.1); one level only, as BIND. */
static int zl_punct(struct zone_lex *lx, char c)
{
    if (c == '\n') {
        lx->p++;
        lx->line++;
        return lx->paren ? 1 : 0;
    }
    lx->tok_line = lx->line;
    if (c == '(') {
        if (lx->paren)
            return zone_fail(lx, "nested parentheses");
        lx->paren = 1;
        lx->paren_line = lx->line;
    } else {
        if (!lx->paren)
            return zone_fail(lx, "')' without '('");
        lx->paren = 0;
    }
    lx->p++;
    return 1;
}

int zone_lex_next(struct zone_lex *lx, struct zone_tok *t)
{
    if (lx->has_pushed) {
        lx->has_pushed = 0;
        *t = lx->pushed;
        return 1;
    }
    while (!lx->at_end) {
        while (lx->p < lx->end && zl_blank(*lx->p))
            lx->p++;
        if (lx->p == lx->end) {
            if (lx->paren) {
                lx->tok_line = lx->paren_line;
                return zone_fail(lx, "'(' is never closed");
            }
            break;
        }
        char c = *lx->p;
        if (c == ';') {
            lx->p = zl_skip_comment(lx->p, lx->end);
            continue;
        }
        if (c == '\n' || c == '(' || c == ')') {
            int r = zl_punct(lx, c);
            if (r < 0)
                return -1;
            if (r == 0)
                break;
            continue;
        }
        lx->tok_line = lx->line;
        return c == '"' ? zl_quoted(lx, t) : zl_word(lx, t);
    }
    lx->at_end = 1;
    return 0;
}

void zone_lex_unget(struct zone_lex *lx, const struct zone_tok *t)
{
    lx->pushed = *t;
    lx->has_pushed = 1;
}

/* ---- names ---- */

/* Absolute when the last byte is a dot not protected by a backslash. */
static int zone_name_absolute(const char *s, size_t len)
{
    size_t slashes = 0;

    if (len == 0 || s[len - 1] != '.')
        return 0;
    while (slashes < len - 1 && s[len - 2 - slashes] == '\\')
        slashes++;
    return slashes % 2 == 0;
}

static int zone_no_origin(struct zone_lex *lx)
{
    if (lx->err && lx->errlen)
        snprintf(lx->err, lx->errlen, "%s: no $ORIGIN and no absolute SOA owner", lx->file);
    return -1;
}

int zone_name_tok(struct zone_lex *lx, const struct zone_tok *t,
                  const struct dns_name *origin, struct dns_name *out)
{
    char show[ZONE_SHOW];
    struct dns_name rel;

    if (t->quoted || t->len == 0 || t->len > ZONE_NAME_TEXT_MAX)
        goto bad;
    if (t->len == 1 && t->s[0] == '@') {
        if (!origin)
            return zone_no_origin(lx);
        *out = *origin;
        return 0;
    }
    if (zone_name_absolute(t->s, t->len)) {
        if (dns_name_from_text(t->s, t->len, out) != 0)
            goto bad;
        return 0;
    }
    if (!origin)
        return zone_no_origin(lx);
    if (dns_name_from_text(t->s, t->len, &rel) != 0 || rel.len < 2)
        goto bad;
    rel.len--;                     /* drop the zero label: the name is relative */
    if (dns_name_concat(&rel, origin, out) != 0)
        return zone_fail(lx, "name '%s' is too long under the origin",
                         zone_tok_show(t, show, sizeof show));
    return 0;
bad:
    return zone_fail(lx, "bad name '%s'", zone_tok_show(t, show, sizeof show));
}

static int zone_tok_is(const struct zone_tok *t, const char *word)
{
    return !t->quoted && strlen(word) == t->len && strncasecmp(t->s, word, t->len) == 0;
}

/* ---- directives ---- */

/* Sets the origin; the first one seen is the zone's (found_origin). */
static void zone_set_origin(struct zone_state *st, const struct dns_name *n)
{
    st->origin = *n;
    st->have_origin = 1;
    if (!st->have_found) {
        st->zp->found_origin = *n;
        st->have_found = 1;
    }
}

static const struct dns_name *zone_cur_origin(const struct zone_state *st)
{
    return st->have_origin ? &st->origin : NULL;
}

static int zone_need_end(struct zone_lex *lx, const char *what)
{
    struct zone_tok t;
    char show[ZONE_SHOW];
    int r = zone_lex_next(lx, &t);

    if (r > 0)
        return zone_fail(lx, "unexpected '%s' after %s", zone_tok_show(&t, show, sizeof show),
                         what);
    return r;
}

static int zone_need_tok(struct zone_lex *lx, struct zone_tok *t, const char *what)
{
    int r = zone_lex_next(lx, t);
    if (r == 0)
        return zone_fail(lx, "%s", what);
    return r < 0 ? -1 : 0;
}

static int zone_dir_origin(struct zone_state *st, struct zone_lex *lx)
{
    struct zone_tok t;
    struct dns_name n;

    if (zone_need_tok(lx, &t, "$ORIGIN needs a name") ||
        zone_name_tok(lx, &t, zone_cur_origin(st), &n) || zone_need_end(lx, "$ORIGIN's name"))
        return -1;
    zone_set_origin(st, &n);
    return 0;
}

static int zone_dir_ttl(struct zone_state *st, struct zone_lex *lx)
{
    struct zone_tok t;
    char show[ZONE_SHOW];

    if (zone_need_tok(lx, &t, "$TTL needs a TTL"))
        return -1;
    if (t.quoted || zone_parse_ttl(t.s, t.len, &st->zone_dir_ttl) != 0)
        return zone_fail(lx, "bad TTL '%s'", zone_tok_show(&t, show, sizeof show));
    st->have_dir_ttl = 1;
    return zone_need_end(lx, "$TTL's value");
}

/* The name as a C string for the callback: bounded, and with no byte
 * that could cut it short or garble a message. */
static int zone_include_path(struct zone_lex *lx, const struct zone_tok *t, char *path)
{
    char show[ZONE_SHOW];

    if (t->len == 0 || t->len >= ZONE_PATH_MAX)
        return zone_fail(lx, "bad $INCLUDE file name '%s'", zone_tok_show(t, show, sizeof show));
    for (size_t i = 0; i < t->len; i++)
        if ((unsigned char)t->s[i] < 0x20 || t->s[i] == 0x7f)
            return zone_fail(lx, "bad $INCLUDE file name '%s'",
                             zone_tok_show(t, show, sizeof show));
    memcpy(path, t->s, t->len);
    path[t->len] = '\0';
    return 0;
}

/* RFC 1035 5.1: the included text starts from the given origin (or the
 * current one); afterwards origin and current owner are as before. */
static int zone_include_run(struct zone_state *st, struct zone_lex *lx, const char *path,
                       const struct dns_name *origin, int depth)
{
    char cberr[256] = "cannot read it";
    size_t len = 0;
    char *text = st->zp->on_include(st->zp->arg, path, &len, cberr, sizeof cberr);
    struct dns_name saved_origin = st->origin, saved_owner = st->owner;
    int saved_have_origin = st->have_origin, saved_have_owner = st->have_owner, r;

    cberr[sizeof cberr - 1] = '\0';
    if (!text)
        return zone_fail(lx, "$INCLUDE %s: %s", path, cberr);
    if (origin)
        zone_set_origin(st, origin);
    r = zone_text(st, path, text, len, depth + 1);
    free(text);
    if (r != 0)
        return -1;
    st->origin = saved_origin;
    st->have_origin = saved_have_origin;
    st->owner = saved_owner;
    st->have_owner = saved_have_owner;
    return 0;
}

static int zone_dir_include(struct zone_state *st, struct zone_lex *lx, int depth)
{
    struct zone_tok t;
    struct dns_name origin;
    char path[ZONE_PATH_MAX];
    int r, has_origin = 0;

    if (zone_need_tok(lx, &t, "$INCLUDE needs a file name") || zone_include_path(lx, &t, path))
        return -1;
    r = zone_lex_next(lx, &t);
    if (r < 0)
        return -1;
    if (r > 0) {
        if (zone_name_tok(lx, &t, zone_cur_origin(st), &origin) ||
            zone_need_end(lx, "$INCLUDE's origin"))
            return -1;
        has_origin = 1;
    }
    if (!st->zp->on_include)
        return zone_fail(lx, "$INCLUDE is not allowed here");
    if (depth >= ZONE_INCLUDE_DEPTH)
        return zone_fail(lx, "$INCLUDE nested more than %d deep", ZONE_INCLUDE_DEPTH);
    return zone_include_run(st, lx, path, has_origin ? &origin : NULL, depth);
}

static int zone_directive(struct zone_state *st, struct zone_lex *lx, const struct zone_tok *t,
                          int depth)
{
    char show[ZONE_SHOW];

    if (zone_tok_is(t, "$ORIGIN"))
        return zone_dir_origin(st, lx);
    if (zone_tok_is(t, "$TTL"))
        return zone_dir_ttl(st, lx);
    if (zone_tok_is(t, "$INCLUDE"))
        return zone_dir_include(st, lx, depth);
    return zone_fail(lx, "unknown directive '%s'", zone_tok_show(t, show, sizeof show));
}

/* ---- records ---- */

/* IN, the other mnemonics, or CLASSnnn (RFC 3597 section 5); 0 when the
 * token is no class. */
static int zone_class_of(const struct zone_tok *t, uint32_t *cls)
{
    static const struct { const char *name; uint16_t value; } names[] = {
        { "IN", 1 }, { "CS", 2 }, { "CH", 3 }, { "HS", 4 }, { "NONE", 254 }, { "ANY", 255 },
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (zone_tok_is(t, names[i].name)) {
            *cls = names[i].value;
            return 1;
        }
    return !t->quoted && t->len > 5 && strncasecmp(t->s, "CLASS", 5) == 0 &&
           zone_parse_uint(t->s + 5, t->len - 5, 65535, cls) == 0;
}

/* [ttl] [class] type, or [class] [ttl] type. */
static int zone_head_rest(struct zone_lex *lx, struct zone_head *h)
{
    struct zone_tok t;
    char show[ZONE_SHOW];
    uint32_t cls;
    int has_class = 0;

    for (;;) {
        if (zone_need_tok(lx, &t, "missing type"))
            return -1;
        zone_tok_show(&t, show, sizeof show);
        if (zone_class_of(&t, &cls)) {
            if (has_class)
                return zone_fail(lx, "class given twice");
            if (cls != DNS_C_IN)
                return zone_fail(lx, "class %s: only class IN is served", show);
            has_class = 1;
        } else if (!t.quoted && t.len > 0 && t.s[0] >= '0' && t.s[0] <= '9') {
            if (h->has_ttl)
                return zone_fail(lx, "TTL given twice");
            if (zone_parse_ttl(t.s, t.len, &h->ttl) != 0)
                return zone_fail(lx, "bad TTL '%s'", show);
            h->has_ttl = 1;
        } else if (t.quoted || zone_type_from_text(t.s, t.len, &h->type) != 0) {
            return zone_fail(lx, "unknown type '%s'", show);
        } else {
            return 0;
        }
    }
}

/* The owner: the previous record's for a blank one.  Without an origin
 * only an absolute name resolves, and a SOA's then becomes the origin. */
static int zone_owner(struct zone_state *st, struct zone_lex *lx, const struct zone_head *h,
                      struct dns_name *owner)
{
    if (!h->has_owner) {
        *owner = st->owner;
        return 0;
    }
    lx->tok_line = h->owner_line;
    if (zone_name_tok(lx, &h->owner, zone_cur_origin(st), owner) != 0)
        return -1;
    if (h->type == DNS_T_SOA && !st->have_origin)
        zone_set_origin(st, owner);
    return 0;
}

/* RFC 2308 section 4: $TTL, else the previous record's, else for a
 * leading SOA its minimum field, else the caller's default. */
static uint32_t zone_ttl(const struct zone_state *st, const struct zone_head *h, size_t rdlen)
{
    if (h->has_ttl)
        return h->ttl;
    if (st->have_dir_ttl)
        return st->zone_dir_ttl;
    if (st->have_last_ttl)
        return st->last_ttl;
    if (h->type == DNS_T_SOA && rdlen >= 20) {
        const uint8_t *m = st->rdata + rdlen - 4;
        uint32_t min = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
        return min > ZONE_TTL_MAX ? ZONE_TTL_MAX : min;
    }
    return st->zp->default_ttl ? st->zp->default_ttl : ZONE_DEFAULT_TTL;
}

static int zone_record(struct zone_state *st, struct zone_lex *lx, int depth)
{
    struct zone_head h = { .has_owner = !lx->leading_ws };
    struct dns_name owner;
    size_t rdlen;
    int r;

    if (h.has_owner) {
        r = zone_lex_next(lx, &h.owner);
        if (r <= 0)
            return r;              /* "()" alone is an empty record */
        h.owner_line = lx->tok_line;
        if (!h.owner.quoted && h.owner.len > 0 && h.owner.s[0] == '$')
            return zone_directive(st, lx, &h.owner, depth);
    } else if (!st->have_owner) {
        return zone_fail(lx, "no owner name: the first record starts with a blank");
    }
    if (zone_head_rest(lx, &h) || zone_owner(st, lx, &h, &owner) ||
        zone_rdata_parse(lx, h.type, zone_cur_origin(st), st->rdata, sizeof st->rdata, &rdlen))
        return -1;
    uint32_t ttl = zone_ttl(st, &h, rdlen);
    if (st->zp->on_record && st->zp->on_record(st->zp->arg, &owner, h.type, DNS_C_IN, ttl,
                                               st->rdata, (uint16_t)rdlen) != 0)
        return zone_fail(lx, "the record was not accepted");
    st->owner = owner;
    st->have_owner = 1;
    st->last_ttl = ttl;
    st->have_last_ttl = 1;
    return 0;
}

static int zone_text(struct zone_state *st, const char *file, const char *text, size_t len,
                     int depth)
{
    struct zone_lex lx;

    memset(&lx, 0, sizeof lx);
    if (!text)
        text = "", len = 0;
    lx.p = text;
    lx.end = text + len;
    lx.file = file;
    lx.line = 1;
    lx.err = st->err;
    lx.errlen = st->errlen;
    while (zone_lex_begin(&lx))
        if (zone_record(st, &lx, depth) != 0)
            return -1;
    return 0;
}

int zone_parse_text(struct zone_parse *zp, const char *text, size_t len, char *err,
                    size_t errlen)
{
    const char *file = zp->file ? zp->file : "zone";
    struct zone_state *st = calloc(1, sizeof *st);
    int r;

    if (errlen)
        err[0] = '\0';
    memset(&zp->found_origin, 0, sizeof zp->found_origin);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", file);
        return -1;
    }
    st->zp = zp;
    st->err = err;
    st->errlen = errlen;
    if (zp->origin)
        zone_set_origin(st, zp->origin);
    r = zone_text(st, file, text, len, 0);
    if (r == 0 && !st->have_found) {
        snprintf(err, errlen, "%s: no $ORIGIN and no absolute SOA owner", file);
        r = -1;
    }
    free(st);
    return r;
}
