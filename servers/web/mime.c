/*
 * Content types by file extension; see mime.h.
 *
 * The table is read from a mime.types file ("type ext1 ext2", '#'
 * comments; the format of /etc/mime.types), with a built-in table of the
 * common web types behind it: for every extension when the file is
 * missing, and for the extensions the file lacks otherwise.
 *
 * Type strings are interned in the table's pool, which only mime_free()
 * empties: a cached file entry may still point at a type when SIGHUP
 * reloads the table, so a reload must not free one.  The pool holds each
 * distinct type once, so reloads do not make it grow.  Each server has
 * its own table (its own --mime-type), so nothing here is shared.
 */
#include "mime.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXT_MAX 32                 /* longer extensions are ignored */
#define TYPE_MAX 128               /* longer type names are ignored */
#define TABLE_MAX (1u << 16)       /* extensions kept from one file */
#define DEFAULT_TYPE "application/octet-stream"

struct mime_slot {
    char *ext;                     /* lower case; NULL when the slot is free */
    const char *type;              /* interned, with any charset parameter */
};

struct ext_map {
    struct mime_slot *slots;
    size_t cap, used;              /* cap: a power of two */
};

struct pool_str {
    struct pool_str *next;
    char s[];
};

struct mime_table {
    struct ext_map map;            /* empty before mime_load: the built-in table */
    struct pool_str *pool;
    const char *default_type;      /* interned; NULL before mime_load */
};

static const struct { const char *ext, *type; } builtin[] = {
    { "html", "text/html" }, { "htm", "text/html" }, { "css", "text/css" },
    { "js", "text/javascript" }, { "mjs", "text/javascript" },
    { "json", "application/json" }, { "txt", "text/plain" }, { "xml", "application/xml" },
    { "svg", "image/svg+xml" }, { "png", "image/png" }, { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" }, { "gif", "image/gif" }, { "webp", "image/webp" },
    { "ico", "image/vnd.microsoft.icon" }, { "pdf", "application/pdf" },
    { "zip", "application/zip" }, { "gz", "application/gzip" }, { "tar", "application/x-tar" },
    { "wasm", "application/wasm" }, { "mp4", "video/mp4" }, { "webm", "video/webm" },
    { "mp3", "audio/mpeg" }, { "ogg", "audio/ogg" }, { "woff", "font/woff" },
    { "woff2", "font/woff2" }, { "ttf", "font/ttf" }, { "otf", "font/otf" },
    { "csv", "text/csv" }, { "md", "text/markdown" },
};

/* Types that are text but not text/...: browsers guess a charset for them
 * otherwise, and guessing is how mojibake and some XSS tricks start. */
static const char *const utf8_types[] = {
    "application/javascript", "application/json", "image/svg+xml", "application/xml",
};

static uint32_t hash_ext(const char *s)
{
    uint32_t h = 2166136261u;          /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The one copy of s in the pool; NULL when out of memory. */
static const char *intern(struct mime_table *m, const char *s)
{
    for (struct pool_str *p = m->pool; p; p = p->next)
        if (strcmp(p->s, s) == 0)
            return p->s;
    size_t n = strlen(s) + 1;
    struct pool_str *p = malloc(sizeof *p + n);
    if (!p)
        return NULL;
    memcpy(p->s, s, n);
    p->next = m->pool;
    m->pool = p;
    return p->s;
}

static int wants_charset(const char *type)
{
    if (strncmp(type, "text/", 5) == 0)
        return 1;
    for (size_t i = 0; i < sizeof utf8_types / sizeof utf8_types[0]; i++)
        if (strcmp(type, utf8_types[i]) == 0)
            return 1;
    return 0;
}

/* The interned form of a bare type, with "; charset=utf-8" when it is text. */
static const char *intern_type(struct mime_table *m, const char *type)
{
    char buf[TYPE_MAX + 32];
    if (wants_charset(type) && !strchr(type, ';')) {
        snprintf(buf, sizeof buf, "%s; charset=utf-8", type);
        return intern(m, buf);
    }
    return intern(m, type);
}

static struct mime_slot *find_slot(const struct ext_map *t, const char *ext)
{
    if (!t->cap)
        return NULL;
    size_t i = hash_ext(ext) & (t->cap - 1);
    while (t->slots[i].ext && strcmp(t->slots[i].ext, ext) != 0)
        i = (i + 1) & (t->cap - 1);
    return &t->slots[i];
}

static int table_grow(struct ext_map *t)
{
    struct ext_map n = { .cap = t->cap ? t->cap * 2 : 256 };
    n.slots = calloc(n.cap, sizeof *n.slots);
    if (!n.slots)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].ext)
            continue;
        *find_slot(&n, t->slots[i].ext) = t->slots[i];
        n.used++;
    }
    free(t->slots);
    *t = n;
    return 0;
}

/* Adds ext (already lower case) to t unless it is there: the first
 * mapping wins, the file's before the built-in one.  *it caches the type
 * interned in m's pool across the extensions of one line. */
static void table_add(struct mime_table *m, struct ext_map *t, const char *ext,
                      const char *type, const char **it)
{
    if (t->used >= TABLE_MAX)
        return;
    if ((t->used + 1) * 2 > t->cap && table_grow(t) == -1)
        return;
    struct mime_slot *s = find_slot(t, ext);
    if (s->ext)
        return;
    if (!*it)
        *it = intern_type(m, type);
    if (!*it || !(s->ext = strdup(ext)))
        return;
    s->type = *it;
    t->used++;
}

static void table_free(struct ext_map *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].ext);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* Copies a lower-cased word of at most max bytes; 0 when it is too long. */
static int lower_word(const char *w, char *out, size_t max)
{
    size_t n = strlen(w);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)w[i]);
    return 1;
}

/* One line of mime.types: "type ext1 ext2 ..."; anything after '#' is a comment. */
static void parse_line(struct mime_table *m, struct ext_map *t, char *line)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *save = NULL;
    char *type = strtok_r(line, " \t\r\n", &save);
    char ltype[TYPE_MAX + 1], ext[EXT_MAX + 1];
    const char *it = NULL;
    if (!type || !strchr(type, '/') || !lower_word(type, ltype, TYPE_MAX))
        return;
    for (char *w; (w = strtok_r(NULL, " \t\r\n", &save));)
        if (lower_word(w, ext, EXT_MAX))
            table_add(m, t, ext, ltype, &it);
}

static void parse_file(struct mime_table *m, struct ext_map *t, const char *path)
{
    FILE *f = path ? fopen(path, "re") : NULL;
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) != -1)
        parse_line(m, t, line);
    free(line);
    fclose(f);
}

struct mime_table *mime_new(void)
{
    return calloc(1, sizeof(struct mime_table));
}

int mime_load(struct mime_table *m, const char *mime_types_file, const char *dflt)
{
    struct ext_map n = { 0 };
    parse_file(m, &n, mime_types_file);
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
        const char *it = NULL;
        table_add(m, &n, builtin[i].ext, builtin[i].type, &it);
    }
    const char *d = intern(m, dflt && *dflt ? dflt : DEFAULT_TYPE);
    /* Replaced only once the new table is whole. */
    table_free(&m->map);
    m->map = n;
    m->default_type = d ? d : DEFAULT_TYPE;
    return 0;
}

/* The built-in table, for a lookup before mime_load. */
static const char *builtin_type(struct mime_table *m, const char *ext)
{
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strcmp(builtin[i].ext, ext) == 0) {
            const char *t = intern_type(m, builtin[i].type);
            return t ? t : builtin[i].type;
        }
    return NULL;
}

const char *mime_type_of(struct mime_table *m, const char *name)
{
    const char *dflt = m->default_type ? m->default_type : DEFAULT_TYPE;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    /* ".profile" has no extension, as in Python's splitext. */
    const char *dot = strrchr(base, '.');
    char ext[EXT_MAX + 1];
    if (!dot || dot == base || !lower_word(dot + 1, ext, EXT_MAX))
        return dflt;
    if (!m->map.cap) {
        const char *t = builtin_type(m, ext);
        return t ? t : dflt;
    }
    struct mime_slot *s = find_slot(&m->map, ext);
    return s->ext ? s->type : dflt;
}

void mime_free(struct mime_table *m)
{
    if (!m)
        return;
    table_free(&m->map);
    while (m->pool) {
        struct pool_str *p = m->pool->next;
        free(m->pool);
        m->pool = p;
    }
    free(m);
}
