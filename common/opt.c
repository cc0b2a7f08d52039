/*
 * Typed option values: parsing one value into a config struct, defaults,
 * and the option lines of --help.  The command line walk itself is in
 * cli/args.c; see opt.h.
 */
#include "opt.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define OPT_LIST_MAX 4096

static void *field(void *cfg, const struct gale_opt *o)
{
    return (char *)cfg + o->offset;
}

int opt_takes_arg(const struct gale_opt *o)
{
    return o->type != OPT_FLAG && o->type != OPT_COUNT;
}

const struct gale_opt *opt_by_long(const struct gale_opt *opts, const char *name, size_t len)
{
    for (const struct gale_opt *o = opts; o->name; o++)
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

const struct gale_opt *opt_by_short(const struct gale_opt *opts, int c)
{
    for (const struct gale_opt *o = opts; o->name; o++)
        if (o->short_name && o->short_name == c)
            return o;
    return NULL;
}

int opt_parse_duration(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return -1;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
        ;
    else if (strcmp(end, "ms") == 0)
        v /= 1000;
    else if (strcmp(end, "m") == 0)
        v *= 60;
    else if (strcmp(end, "h") == 0)
        v *= 3600;
    else
        return -1;
    if (v > 1e9)
        return -1;
    *out = v;
    return 0;
}

int opt_parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: return -1;
    }
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_long(const char *s, int base, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, base);
    if (end == s || *end || errno)
        return -1;
    *out = v;
    return 0;
}

static int choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        size_t m = strcspn(p, "|");
        if (m == n && memcmp(p, v, n) == 0)
            return 1;
        p += m + (p[m] == '|');
    }
    return 0;
}

static int list_add(struct opt_list *l, const char *v, char tag)
{
    if (l->n >= OPT_LIST_MAX)
        return -1;
    if (tag) {
        char *nt = realloc(l->tag, l->n + 1);
        if (!nt)
            return -1;
        l->tag = nt;
        nt[l->n] = tag;
    }
    const char **nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    nv[l->n++] = v;
    l->v = nv;
    return 0;
}

int opt_check_readable(const char *path, char *err, size_t errlen)
{
    if (access(path, R_OK) == -1) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int opt_check_file(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (opt_check_readable(path, err, errlen) == -1)
        return -1;
    if (stat(path, &st) == -1) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is a directory", path);
        return -1;
    }
    return 0;
}

int opt_check_new_file(const char *path, char *err, size_t errlen)
{
    struct stat st;
    char dir[PATH_MAX];
    if (strcmp(path, "-") == 0)
        return 0;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "%s is a directory", path);
            return -1;
        }
        return 0;
    }
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cannot create %s: no folder %s", path, dir);
        return -1;
    }
    return 0;
}

static int check_dir(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", path);
        return -1;
    }
    return 0;
}

/* One value of o against the disk. */
static int check_value_disk(const struct gale_opt *o, const char *v, char *err, size_t errlen)
{
    char why[512];
    int r = 0;
    if (o->type == OPT_FILE)
        r = opt_check_file(v, why, sizeof why);
    else if (o->type == OPT_DIR)
        r = check_dir(v, why, sizeof why);
    if (r == 0 && o->check_disk)
        r = o->check_disk(v, why, sizeof why);
    if (r == -1)
        snprintf(err, errlen, "--%s: %s", o->name, why);
    return r;
}

int opt_check_disk(const struct gale_opt *opts, const void *cfg, char *err, size_t errlen)
{
    for (const struct gale_opt *o = opts; o->name; o++) {
        if (o->type == OPT_LIST) {
            const struct opt_list *l = (const void *)((const char *)cfg + o->offset);
            for (size_t i = 0; i < l->n; i++)
                if (o->check_disk && check_value_disk(o, l->v[i], err, errlen) == -1)
                    return -1;
            continue;
        }
        if (!opt_takes_arg(o) || (o->type != OPT_FILE && o->type != OPT_DIR && !o->check_disk))
            continue;
        const char *v = *(const char *const *)((const char *)cfg + o->offset);
        /* A default names a file that need not exist until it is used. */
        if (v && v != o->def && check_value_disk(o, v, err, errlen) == -1)
            return -1;
    }
    return 0;
}

static int check_path(const struct gale_opt *o, const char *v, char *err, size_t errlen)
{
    if (*v == '\0') {
        snprintf(err, errlen, "--%s: empty path", o->name);
        return -1;
    }
    return 0;
}

static int set_number(const struct gale_opt *o, void *p, const char *v, char *err, size_t errlen)
{
    long l;
    switch (o->type) {
    case OPT_INT:
        if (parse_long(v, 10, &l) == -1 || l < o->min || l > o->max) {
            snprintf(err, errlen, "--%s: '%s' is not a whole number from %ld to %ld",
                     o->name, v, o->min, o->max);
            return -1;
        }
        *(long *)p = l;
        return 0;
    case OPT_OCTAL:
        if (parse_long(v, 8, &l) == -1 || l < 0 || l > 07777) {
            snprintf(err, errlen, "--%s: '%s' is not an octal mode such as 022", o->name, v);
            return -1;
        }
        *(long *)p = l;
        return 0;
    case OPT_DURATION:
        if (opt_parse_duration(v, (double *)p) == -1) {
            snprintf(err, errlen, "--%s: '%s' is not a duration such as 10, 1.5s or 500ms",
                     o->name, v);
            return -1;
        }
        return 0;
    case OPT_SIZE:
        if (opt_parse_size(v, (uint64_t *)p) == -1) {
            snprintf(err, errlen, "--%s: '%s' is not a size such as 512k, 64m or 1g", o->name, v);
            return -1;
        }
        return 0;
    default:
        return -1;
    }
}

int opt_set(const struct gale_opt *o, void *cfg, const char *v, char *err, size_t errlen)
{
    void *p = field(cfg, o);
    char why[512];
    if (opt_takes_arg(o) && o->check && o->check(v, why, sizeof why) == -1) {
        snprintf(err, errlen, "--%s: %s", o->name, why);
        return -1;
    }
    switch (o->type) {
    case OPT_FLAG:
        *(int *)p = 1;
        return 0;
    case OPT_COUNT:
        (*(int *)p)++;
        return 0;
    case OPT_FILE: case OPT_DIR: case OPT_PATH:
        if (check_path(o, v, err, errlen) == -1)
            return -1;
        *(const char **)p = v;
        return 0;
    case OPT_STRING: case OPT_ENDPOINT:
        *(const char **)p = v;
        return 0;
    case OPT_CHOICE:
        if (!choice_ok(o->choices, v)) {
            snprintf(err, errlen, "--%s: '%s' is not one of %s", o->name, v, o->choices);
            return -1;
        }
        *(const char **)p = v;
        return 0;
    case OPT_LIST:
        if (list_add(p, v, o->list_tag) == -1) {
            snprintf(err, errlen, "--%s: given too many times", o->name);
            return -1;
        }
        return 0;
    default:
        return set_number(o, p, v, err, errlen);
    }
}

int opt_defaults(const struct gale_opt *opts, void *cfg, char *err, size_t errlen)
{
    for (const struct gale_opt *o = opts; o->name; o++) {
        if (!o->def || !opt_takes_arg(o))
            continue;
        /* Defaults name files that need not exist yet. */
        if (o->type == OPT_FILE || o->type == OPT_DIR) {
            *(const char **)field(cfg, o) = o->def;
            continue;
        }
        if (opt_set(o, cfg, o->def, err, errlen) == -1)
            return -1;
    }
    return 0;
}

void opt_synopsis(const struct gale_opt *o, char *buf, size_t len)
{
    char sh[8] = "";
    if (o->short_name)
        snprintf(sh, sizeof sh, "-%c, ", o->short_name);
    if (opt_takes_arg(o))
        snprintf(buf, len, "%s--%s=%s", sh, o->name, o->metavar ? o->metavar : "VALUE");
    else
        snprintf(buf, len, "%s--%s", sh, o->name);
}

void opt_print_help(FILE *f, const struct gale_opt *opts)
{
    int width = 0;
    char syn[128];
    for (const struct gale_opt *o = opts; o->name; o++) {
        opt_synopsis(o, syn, sizeof syn);
        int w = (int)strlen(syn) + (o->short_name ? 0 : 4);
        if (w > width)
            width = w;
    }
    for (const struct gale_opt *o = opts; o->name; o++) {
        opt_synopsis(o, syn, sizeof syn);
        const char *pad = o->short_name ? "" : "    ";
        int w = width - (int)strlen(pad);
        fprintf(f, "  %s%-*s  %s", pad, w, syn, o->help);
        if (o->type == OPT_CHOICE)
            fprintf(f, " (%s)", o->choices);
        if (o->def && opt_takes_arg(o))
            fprintf(f, " [default: %s]", o->def);
        if (o->type == OPT_LIST)
            fprintf(f, " (repeatable)");
        fputc('\n', f);
    }
}

void opt_free(const struct gale_opt *opts, void *cfg)
{
    for (const struct gale_opt *o = opts; o->name; o++) {
        if (o->type != OPT_LIST)
            continue;
        struct opt_list *l = field(cfg, o);
        free(l->v);
        free(l->tag);
        l->v = NULL;
        l->tag = NULL;
        l->n = 0;
    }
}
