/*
 * Aliases, expanded and read from disk; see aliases.h.  The parser is in
 * aliases.c.
 */
#include "aliases.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEEN_SLOTS 2048          /* a power of two over twice ALIASES_RESULTS_MAX */

/* aliases.c's: n bytes of s in a new string, lowercased when fold. */
char *aliases_copy(const char *s, size_t n, int fold);

/* --- expansion -------------------------------------------------------- */

enum { UNSEEN, ON_PATH, DONE };
_Static_assert(ALIASES_DEPTH_MAX == 16, "the message below names the depth");

struct expansion {
    const struct aliases *a;
    int (*cb)(const struct alias_target *t, void *arg);
    void *arg;
    char *err;
    size_t errlen;
    unsigned char *state;        /* per entry */
    size_t path[ALIASES_DEPTH_MAX];
    size_t depth;
    const struct alias_target *seen[SEEN_SLOTS];   /* the targets given, hashed */
    size_t nseen;
};

/* err = what: the names path[from..depth) -> last. */
static int path_error(struct expansion *x, const char *what, size_t from, const char *last)
{
    size_t len;
    snprintf(x->err, x->errlen, "%s", what);
    for (size_t i = from; i <= x->depth && x->errlen; i++) {
        len = strlen(x->err);
        snprintf(x->err + len, x->errlen - len, "%s%s", i == from ? ": " : " -> ",
                 i < x->depth ? x->a->v[x->path[i]].name : last);
    }
    return -1;
}

/* Gives t to the callback unless it was given before. */
static int emit(struct expansion *x, const struct alias_target *t)
{
    uint32_t h = 2166136261u ^ (uint32_t)t->kind;
    for (const unsigned char *p = (const unsigned char *)t->value; *p; p++)
        h = (h ^ *p) * 16777619u;
    size_t i = h & (SEEN_SLOTS - 1);
    for (; x->seen[i]; i = (i + 1) & (SEEN_SLOTS - 1))
        if (x->seen[i]->kind == t->kind && strcmp(x->seen[i]->value, t->value) == 0)
            return 0;
    if (x->nseen == ALIASES_RESULTS_MAX) {
        snprintf(x->err, x->errlen, "more than %d targets", ALIASES_RESULTS_MAX);
        return -1;
    }
    x->seen[i] = t;
    x->nseen++;
    return x->cb(t, x->arg) < 0 ? -1 : 0;
}

static int expand_entry(struct expansion *x, size_t idx);

/* A target of e (NULL for the name expanded): an alias is expanded. */
static int expand_target(struct expansion *x, const struct alias_entry *e, const struct alias_target *t)
{
    const struct alias_entry *sub;
    size_t j, k;

    if (t->kind != ALIAS_USER || t->noalias || (e && strcmp(t->value, e->name) == 0) ||
        !(sub = aliases_find(x->a, t->value)))
        return emit(x, t);
    j = (size_t)(sub - x->a->v);
    if (x->state[j] == DONE)
        return 0;                /* its targets are given already */
    if (x->state[j] == ON_PATH) {
        for (k = 0; x->path[k] != j; k++)
            ;
        return path_error(x, "alias loop", k, sub->name);
    }
    if (x->depth == ALIASES_DEPTH_MAX)
        return path_error(x, "aliases nested deeper than 16", 0, sub->name);
    return expand_entry(x, j);
}

static int expand_entry(struct expansion *x, size_t idx)
{
    const struct alias_entry *e = &x->a->v[idx];
    x->state[idx] = ON_PATH;
    x->path[x->depth++] = idx;
    for (size_t i = 0; i < e->n; i++)
        if (expand_target(x, e, &e->t[i]) < 0)
            return -1;
    x->depth--;
    x->state[idx] = DONE;
    return 0;
}

int aliases_expand(const struct aliases *a, const char *name,
                   int (*cb)(const struct alias_target *t, void *arg), void *arg, char *err,
                   size_t errlen)
{
    struct alias_target root = { .kind = ALIAS_USER, .value = aliases_copy(name, strlen(name), 1) };
    struct expansion *x = calloc(1, sizeof *x);
    int rc = -1;

    if (errlen)
        err[0] = '\0';
    if (!root.value || !x || !(x->state = calloc(a ? a->n + 1 : 1, 1))) {
        snprintf(err, errlen, "out of memory");
    } else if (!name[0]) {
        snprintf(err, errlen, "empty name");
    } else {
        x->a = a;
        x->cb = cb;
        x->arg = arg;
        x->err = err;
        x->errlen = errlen;
        rc = expand_target(x, NULL, &root);
    }
    if (x)
        free(x->state);
    free(x);
    free(root.value);
    return rc;
}

/* --- files ------------------------------------------------------------ */

int aliases_read(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    const char *why = NULL;
    struct stat sb;
    char *buf = NULL;
    size_t n = 0;
    ssize_t r = 1;

    if (fd < 0 || fstat(fd, &sb) != 0)
        why = strerror(errno);
    else if (!S_ISREG(sb.st_mode))
        why = "not a regular file";
    else if (!(buf = malloc(ALIASES_FILE_MAX + 2)))
        why = "out of memory";
    while (!why && r != 0 && n <= ALIASES_FILE_MAX) {
        if ((r = read(fd, buf + n, ALIASES_FILE_MAX + 1 - n)) > 0)
            n += (size_t)r;
        else if (r < 0 && errno != EINTR)
            why = strerror(errno);
    }
    if (!why && n > ALIASES_FILE_MAX)
        why = "larger than 1 MiB";
    if (fd >= 0)
        close(fd);
    *text = NULL;
    *len = 0;
    if (why) {
        free(buf);
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

