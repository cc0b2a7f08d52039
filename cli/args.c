/* The command line walk; see args.h. */
#include "args.h"

#include <stdio.h>
#include <string.h>

struct found {
    const struct gale_opt *opt;
    void *cfg;
};

static struct found find_long(const struct opt_table *tabs, size_t n, const char *name, size_t len)
{
    for (size_t t = 0; t < n; t++) {
        const struct gale_opt *o = opt_by_long(tabs[t].opts, name, len);
        if (o)
            return (struct found){ o, tabs[t].cfg };
    }
    return (struct found){ NULL, NULL };
}

static struct found find_short(const struct opt_table *tabs, size_t n, int c)
{
    for (size_t t = 0; t < n; t++) {
        const struct gale_opt *o = tabs[t].short_ok ? opt_by_short(tabs[t].opts, c) : NULL;
        if (o)
            return (struct found){ o, tabs[t].cfg };
    }
    return (struct found){ NULL, NULL };
}

static int take_long(int argc, char **argv, int *i, const struct opt_table *tabs, size_t n,
                     char *err, size_t errlen)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    struct found f = find_long(tabs, n, arg, len);
    if (!f.opt) {
        snprintf(err, errlen, "unknown option '--%.*s'", (int)len, arg);
        return -1;
    }
    const char *value = NULL;
    if (opt_takes_arg(f.opt)) {
        if (eq)
            value = eq + 1;
        else if (*i + 1 < argc)
            value = argv[++*i];
        else {
            snprintf(err, errlen, "option '--%s' needs a value (%s)", f.opt->name,
                     f.opt->metavar ? f.opt->metavar : "VALUE");
            return -1;
        }
    } else if (eq) {
        snprintf(err, errlen, "option '--%s' takes no value", f.opt->name);
        return -1;
    }
    (*i)++;
    return opt_set(f.opt, f.cfg, value, err, errlen);
}

static int take_short(int argc, char **argv, int *i, const struct opt_table *tabs, size_t n,
                      char *err, size_t errlen)
{
    const char *p = argv[*i] + 1;
    while (*p) {
        struct found f = find_short(tabs, n, (unsigned char)*p);
        if (!f.opt) {
            snprintf(err, errlen, "unknown option '-%c'", *p);
            return -1;
        }
        if (!opt_takes_arg(f.opt)) {
            if (opt_set(f.opt, f.cfg, NULL, err, errlen) == -1)
                return -1;
            p++;
            continue;
        }
        const char *value = p[1] ? p + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
        if (!value) {
            snprintf(err, errlen, "option '-%c' needs a value (%s)", *p,
                     f.opt->metavar ? f.opt->metavar : "VALUE");
            return -1;
        }
        (*i)++;
        return opt_set(f.opt, f.cfg, value, err, errlen);
    }
    (*i)++;
    return 0;
}

int args_walk(int argc, char **argv, int *i, const struct opt_table *tabs, size_t ntabs,
              int stop_at_word, char *err, size_t errlen)
{
    while (*i < argc) {
        const char *a = argv[*i];
        int r;
        if (strcmp(a, "--") == 0) {
            (*i)++;
            if (*i < argc && !stop_at_word) {
                snprintf(err, errlen, "unexpected argument '%s'", argv[*i]);
                return -1;
            }
            return 0;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (stop_at_word)
                return 0;
            snprintf(err, errlen, "unexpected argument '%s'", a);
            return -1;
        }
        if (a[1] == '-')
            r = take_long(argc, argv, i, tabs, ntabs, err, errlen);
        else
            r = take_short(argc, argv, i, tabs, ntabs, err, errlen);
        if (r == -1)
            return -1;
    }
    return 0;
}
