/*
 * aliases(5) files (aliases.h): the parser, the lookup and the expansion.
 * The text is hostile: every line is bounded and checked for control
 * characters before it is read, every string is copied out with its
 * length, and the expansion is bounded in depth, in results and in work
 * (an alias is expanded once per expansion, however often it is named).
 */
#include "aliases.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHY_MAX 160

/* Messages for the caller: whole lines while they fit, then "...". */
struct errs {
    const char *file;
    char *buf;
    size_t len, cap;
    unsigned count;
    int full;
};

/* One physical line, its line end taken off. */
struct line {
    const char *p;
    size_t n;
    unsigned no;
};

/* A growing array of targets. */
struct tlist {
    struct alias_target *t;
    size_t n, cap;
};

/* --- characters and messages ---------------------------------------- */

static int is_blank(char c) { return c == ' ' || c == '\t'; }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }
static int is_control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

static size_t skip_blanks(const char *s, size_t n, size_t i)
{
    while (i < n && is_blank(s[i]))
        i++;
    return i;
}

static size_t trim_end(const char *s, size_t n)
{
    while (n > 0 && is_blank(s[n - 1]))
        n--;
    return n;
}

static int has_blank(const char *s, size_t n) { return memchr(s, ' ', n) || memchr(s, '\t', n); }

/* A malloc'd, NUL-terminated copy, lowercased when fold. */
char *aliases_copy(const char *s, size_t n, int fold)
{
    char *c = malloc(n + 1);
    for (size_t i = 0; c && i < n; i++)
        c[i] = fold ? lower(s[i]) : s[i];
    if (c)
        c[n] = '\0';
    return c;
}

/* v (of *cap items of size) with room for n + 1: itself, a larger copy,
 * or NULL without memory (v is then as it was). */
static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
    size_t more = *cap ? *cap * 2 : 8;
    if (n < *cap)
        return v;
    if ((v = realloc(v, more * size)))
        *cap = more;
    return v;
}

/* Adds "FILE:LINE: why\n" (no LINE when lineno is 0). */
__attribute__((format(printf, 3, 4)))
static void err_add(struct errs *e, unsigned lineno, const char *fmt, ...)
{
    char why[WHY_MAX], at[16] = "";
    size_t room = e->cap - e->len;
    va_list ap;
    int n;

    e->count++;
    if (e->full || e->cap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (lineno)
        snprintf(at, sizeof at, "%u:", lineno);
    n = snprintf(e->buf + e->len, room, "%s:%s %s\n", e->file, at, why);
    if (n >= 0 && (size_t)n < room) {
        e->len += (size_t)n;
        return;
    }
    e->full = 1;
    snprintf(e->buf + e->len, room, "...\n");
}

/* Sets why; -1 for the caller to return. */
__attribute__((format(printf, 2, 3)))
static int fail(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, WHY_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

/* Begins the messages; -1 (reported) when the text is over the limit. */
static int errs_init(struct errs *e, const char *file, char *buf, size_t cap, size_t len)
{
    *e = (struct errs){ .file = file ? file : "aliases", .buf = buf, .cap = buf ? cap : 0 };
    if (e->cap)
        buf[0] = '\0';
    if (len <= ALIASES_FILE_MAX)
        return 0;
    err_add(e, 0, "larger than %d MiB", ALIASES_FILE_MAX >> 20);
    return -1;
}

/* --- lines ------------------------------------------------------------ */

/* The next line at *pos, without its LF or CRLF; 0 at the end. */
static int next_line(const char **pos, const char *end, struct line *l)
{
    const char *p = *pos, *nl;
    if (p >= end)
        return 0;
    nl = memchr(p, '\n', (size_t)(end - p));
    l->p = p;
    l->n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    l->no++;
    *pos = nl ? nl + 1 : end;
    if (nl && l->n > 0 && p[l->n - 1] == '\r')
        l->n--;
    return 1;
}

/* Blank or comment: nothing to read. */
static int is_empty_line(const struct line *l)
{
    size_t i = skip_blanks(l->p, l->n, 0);
    return i == l->n || l->p[i] == '#';
}

/* Reports a line too long or its first control character; -1 then. */
static int check_line(const struct line *l, struct errs *e)
{
    if (l->n > ALIASES_LINE_MAX) {
        err_add(e, l->no, "line longer than %d KiB", ALIASES_LINE_MAX / 1024);
        return -1;
    }
    for (size_t i = 0; i < l->n; i++)
        if (is_control((unsigned char)l->p[i])) {
            err_add(e, l->no, "control character 0x%02x", (unsigned char)l->p[i]);
            return -1;
        }
    return 0;
}

/* --- targets ---------------------------------------------------------- */

/*
 * The quoted string at s[0] == '"' (\" and \\ are escapes) into out, cut
 * at cap octets; *used is the octets it takes with both quotes, *vlen its
 * whole length.  -1 when it does not end.
 */
static int unquote(const char *s, size_t n, char *out, size_t cap, size_t *used, size_t *vlen)
{
    size_t i = 1, o = 0;
    for (; i < n && s[i] != '"'; i++, o++) {
        if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\'))
            i++;
        if (o < cap)
            out[o] = s[i];
    }
    *used = i + 1;
    *vlen = o;
    return i < n ? 0 : -1;
}

/* A local user name at s + i (i is 1 after a '\\'). */
static int check_user(const char *s, size_t n, size_t i, int quoted, char *why)
{
    if (i && memchr(s, '@', n))
        return fail(why, "'\\' goes before a local user name only");
    if (i == n)
        return fail(why, "'\\' with no user name");
    if (!quoted && memchr(s, ':', n))
        return fail(why, "':' in the user name '%.*s': quote it", (int)(n > 40 ? 40 : n), s);
    if (n - i > ALIASES_NAME_MAX)
        return fail(why, "user name longer than %d octets", ALIASES_NAME_MAX);
    return 0;
}

static int check_address(const char *s, size_t n, char *why)
{
    const char *at = memchr(s, '@', n);
    if (at == s)
        return fail(why, "address with no local part");
    if (memchr(at + 1, '@', n - (size_t)(at + 1 - s)))
        return fail(why, "address with more than one '@'");
    if (at == s + n - 1)
        return fail(why, "address with no domain");
    return 0;
}

static int check_include(const char *s, size_t n, size_t i, char *why)
{
    if (i == n)
        return fail(why, ":include: with no file");
    if (s[i] != '/')
        return fail(why, ":include: needs an absolute path");
    return 0;
}

/* Sorts one target s[0..n) (dequoted when quoted) into its kind. */
static int classify(const char *s, size_t n, int quoted, struct alias_target *t, char *why)
{
    size_t i = 0;               /* where the value begins */
    int rc = 0;

    *t = (struct alias_target){ .kind = ALIAS_USER };
    if (n == 0)
        return fail(why, "empty quoted target");
    if (s[0] == '|') {
        t->kind = ALIAS_PIPE;    /* the only kind with blanks unquoted: a command's arguments */
        i = skip_blanks(s, n, 1);
        if (i >= (n = trim_end(s, n)))
            return fail(why, "'|' with no command");
    } else {
        if (n >= 9 && strncasecmp(s, ":include:", 9) == 0) {
            t->kind = ALIAS_INCLUDE;
            i = skip_blanks(s, n, 9);
            rc = check_include(s, n, i, why);
        } else if (s[0] == '/') {
            t->kind = ALIAS_FILE;
            t->maildir = s[n - 1] == '/';
        } else if (s[0] != '\\' && memchr(s, '@', n)) {
            t->kind = ALIAS_ADDRESS;
            rc = check_address(s, n, why);
        } else {
            t->noalias = s[0] == '\\';
            i = (size_t)t->noalias;
            rc = check_user(s, n, i, quoted, why);
        }
        if (rc == 0 && !quoted && has_blank(s + i, n - i))
            rc = fail(why, "blank inside a target: quote it");
        if (rc < 0)
            return -1;
    }
    if (!(t->value = aliases_copy(s + i, n - i, t->kind == ALIAS_USER)))
        return fail(why, "out of memory");
    return 0;
}

/* One target at s[*i] (not a blank, not a comma), moving *i past it. */
static int read_target(const char *s, size_t n, size_t *i, struct alias_target *t, char *why)
{
    size_t start = *i, used, vlen;
    char *v;
    int rc;

    if (s[start] == '"') {
        if (!(v = malloc(n - start)))
            return fail(why, "out of memory");
        if (unquote(s + start, n - start, v, n - start, &used, &vlen) < 0)
            rc = fail(why, "unterminated quote");
        else if ((*i = skip_blanks(s, n, start + used)) < n && s[*i] != ',')
            rc = fail(why, "text after the quoted target");
        else
            rc = classify(v, vlen, 1, t, why);
        free(v);
        return rc;
    }
    const char *comma = memchr(s + start, ',', n - start);
    *i = comma ? (size_t)(comma - s) : n;
    if (memchr(s + start, '"', *i - start))
        return fail(why, "'\"' inside a target: quote the whole target");
    return classify(s + start, trim_end(s + start, *i - start), 0, t, why);
}

/* The targets of s[0..n) into tl; -1 with why at the first bad one. */
static int parse_segment(const char *s, size_t n, struct tlist *tl, char *why)
{
    struct alias_target t, *more;

    for (size_t i = skip_blanks(s, n, 0); i < n; i = skip_blanks(s, n, i)) {
        if (s[i] == ',') {
            i++;
            continue;
        }
        if (read_target(s, n, &i, &t, why) < 0)
            return -1;
        if (tl->n == ALIASES_TARGETS_MAX || !(more = grow(tl->t, &tl->cap, tl->n, sizeof t))) {
            free(t.value);
            return tl->n == ALIASES_TARGETS_MAX ? fail(why, "more than %d targets", ALIASES_TARGETS_MAX)
                                                : fail(why, "out of memory");
        }
        tl->t = more;
        tl->t[tl->n++] = t;
    }
    return 0;
}

void alias_targets_free(struct alias_target *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        free(t[i].value);
    free(t);
}

/* --- entries ---------------------------------------------------------- */

/* The name at the start of an entry line, lowercased into out (of
 * ALIASES_NAME_MAX + 1); *used is the octets it takes with the ':'. */
static int parse_name(const char *s, size_t n, char *out, size_t *used, char *why)
{
    size_t i, vlen;

    if (s[0] == '"') {
        if (unquote(s, n, out, ALIASES_NAME_MAX, &i, &vlen) < 0)
            return fail(why, "unterminated quote");
        i = skip_blanks(s, n, i);
    } else {
        const char *colon = memchr(s, ':', n);
        if (!colon)
            return fail(why, "no ':' after the name");
        i = (size_t)(colon - s);
        vlen = trim_end(s, i);
        if (has_blank(s, vlen) || memchr(s, '"', vlen) || memchr(s, '@', vlen) || memchr(s, ',', vlen))
            return fail(why, "the name '%.*s' holds a blank, '\"', '@' or ',': quote it",
                        (int)(vlen > 40 ? 40 : vlen), s);
        memcpy(out, s, vlen < ALIASES_NAME_MAX ? vlen : ALIASES_NAME_MAX);
    }
    if (i == n || s[i] != ':')
        return fail(why, "no ':' after the name");
    if (vlen == 0)
        return fail(why, "empty name");
    if (vlen > ALIASES_NAME_MAX)
        return fail(why, "name longer than %d octets", ALIASES_NAME_MAX);
    for (size_t k = 0; k < vlen; k++)
        out[k] = lower(out[k]);
    out[vlen] = '\0';
    *used = i + 1;
    return 0;
}

struct parser {
    struct errs e;
    struct alias_entry *v;       /* the entries taken */
    size_t n, cap;
};

/* Adds an entry, its targets moved out of tl. */
static int take_entry(struct parser *ps, const char *name, unsigned lineno, struct tlist *tl)
{
    struct alias_entry *more = grow(ps->v, &ps->cap, ps->n, sizeof *ps->v);
    char *n;
    if (!more)
        return -1;
    ps->v = more;
    if (!(n = aliases_copy(name, strlen(name), 0)))
        return -1;
    ps->v[ps->n++] = (struct alias_entry){ n, lineno, tl->t, tl->n };
    *tl = (struct tlist){ 0 };
    return 0;
}

/* Moves to the next line when it belongs to the entry before it: a
 * continuation, or a blank or comment line. */
static int next_in_entry(const char **pos, const char *end, struct line *l)
{
    const char *p = *pos;
    struct line nx = *l;
    if (!next_line(&p, end, &nx) || !(is_empty_line(&nx) || is_blank(nx.p[0])))
        return 0;
    *pos = p;
    *l = nx;
    return 1;
}

/*
 * One entry: its first line l and the lines after it that continue it,
 * *pos left at the next entry.  After its first error an entry is
 * dropped, and its other lines are only checked for control characters
 * and length.
 */
static void parse_entry(struct parser *ps, struct line *l, const char **pos, const char *end)
{
    struct tlist tl = { 0 };
    char name[ALIASES_NAME_MAX + 1], why[WHY_MAX];
    size_t used = 0, octets = l->n;
    unsigned first = l->no;
    int ok = check_line(l, &ps->e) == 0;

    if (ok && (parse_name(l->p, l->n, name, &used, why) < 0 ||
               parse_segment(l->p + used, l->n - used, &tl, why) < 0)) {
        err_add(&ps->e, l->no, "%s", why);
        ok = 0;
    }
    while (next_in_entry(pos, end, l)) {
        if (is_empty_line(l) || !ok) {
            check_line(l, &ps->e);
            continue;
        }
        octets += 1 + l->n;
        if (octets > ALIASES_LINE_MAX) {
            err_add(&ps->e, l->no, "entry longer than %d KiB", ALIASES_LINE_MAX / 1024);
            ok = 0;
        } else if (check_line(l, &ps->e) < 0) {
            ok = 0;
        } else if (parse_segment(l->p, l->n, &tl, why) < 0) {
            err_add(&ps->e, l->no, "%s", why);
            ok = 0;
        }
    }
    if (ok && tl.n == 0)
        err_add(&ps->e, first, "'%s' has no targets", name);
    else if (ok && take_entry(ps, name, first, &tl) < 0)
        err_add(&ps->e, first, "out of memory");
    alias_targets_free(tl.t, tl.n);
}

static int by_name(const void *a, const void *b)
{
    const struct alias_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->lineno > y->lineno) - (x->lineno < y->lineno);
}

/* Sorts the entries and reports each name given again. */
static void sort_entries(struct parser *ps)
{
    size_t first = 0;
    if (ps->n > 1)
        qsort(ps->v, ps->n, sizeof *ps->v, by_name);
    for (size_t i = 1; i < ps->n; i++) {
        if (strcmp(ps->v[i].name, ps->v[first].name) != 0)
            first = i;
        else
            err_add(&ps->e, ps->v[i].lineno, "'%s' given again (first at line %u)", ps->v[i].name,
                    ps->v[first].lineno);
    }
}

void aliases_free(struct aliases *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].name);
        alias_targets_free(a->v[i].t, a->v[i].n);
    }
    free(a->v);
    *a = (struct aliases){ 0 };
}

int aliases_parse(const char *name, const char *text, size_t len, struct aliases *out, char *errs,
                  size_t errlen)
{
    struct parser ps = { 0 };
    const char *pos = text, *end = text + len;
    struct line l = { 0 };
    size_t entries = 0;

    *out = (struct aliases){ 0 };
    if (errs_init(&ps.e, name, errs, errlen, len) < 0)
        return -1;
    while (next_line(&pos, end, &l)) {
        if (is_empty_line(&l)) {
            check_line(&l, &ps.e);
        } else if (is_blank(l.p[0])) {
            err_add(&ps.e, l.no, "continuation line with no entry before it");
        } else if (entries++ < ALIASES_ENTRIES_MAX) {
            parse_entry(&ps, &l, &pos, end);
        } else {
            err_add(&ps.e, l.no, "more than %d entries", ALIASES_ENTRIES_MAX);
            break;
        }
    }
    sort_entries(&ps);
    *out = (struct aliases){ ps.v, ps.n };
    if (ps.e.count == 0)
        return 0;
    aliases_free(out);
    return -1;
}

int aliases_parse_targets(const char *name, const char *text, size_t len, struct alias_target **out,
                          size_t *n, char *errs, size_t errlen)
{
    struct errs e;
    struct tlist tl = { 0 };
    const char *pos = text, *end = text + len;
    struct line l = { 0 };
    char why[WHY_MAX];

    *out = NULL;
    *n = 0;
    if (errs_init(&e, name, errs, errlen, len) < 0)
        return -1;
    while (next_line(&pos, end, &l)) {
        if (check_line(&l, &e) < 0 || is_empty_line(&l) || parse_segment(l.p, l.n, &tl, why) == 0)
            continue;
        err_add(&e, l.no, "%s", why);
        if (tl.n == ALIASES_TARGETS_MAX)
            break;               /* every line after would say so again */
    }
    if (e.count) {
        alias_targets_free(tl.t, tl.n);
        return -1;
    }
    *out = tl.t;
    *n = tl.n;
    return 0;
}

/* --- lookup ----------------------------------------------------------- */

static int by_key(const void *key, const void *entry)
{
    return strcmp(key, ((const struct alias_entry *)entry)->name);
}

const struct alias_entry *aliases_find(const struct aliases *a, const char *name)
{
    char key[ALIASES_NAME_MAX + 1];
    size_t n = strnlen(name, sizeof key);

    if (!a || a->n == 0 || n == sizeof key)
        return NULL;             /* no name is that long */
    for (size_t i = 0; i <= n; i++)
        key[i] = lower(name[i]);
    return bsearch(key, a->v, a->n, sizeof *a->v, by_key);
}

const char *alias_kind_name(enum alias_kind k)
{
    static const char *const names[] = { "user", "address", "file", "pipe", "include" };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}
