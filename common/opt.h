/*
 * Typed, declarative option tables.  Each server declares one table; the
 * parser, --help, the man pages and the shell completions are all made
 * from it.  Values are stored straight into the server's config struct.
 */
#ifndef GALE_OPT_H
#define GALE_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum opt_type {
    OPT_FLAG,       /* int, set to 1; no argument */
    OPT_COUNT,      /* int, incremented each time; no argument */
    OPT_STRING,     /* const char * */
    OPT_FILE,       /* const char *, must name a readable file */
    OPT_DIR,        /* const char *, must name a directory */
    OPT_PATH,       /* const char *, a path that may not exist yet */
    OPT_INT,        /* long, within [min, max] */
    OPT_DURATION,   /* double seconds: "10", "1.5", "500ms", "2m", "1h" */
    OPT_SIZE,       /* uint64_t bytes: "64m", "1g", "512k", "100" */
    OPT_OCTAL,      /* long, an octal mode up to 07777 */
    OPT_CHOICE,     /* const char *, one of the '|'-separated choices */
    OPT_ENDPOINT,   /* const char *, a valid endpoint description */
    OPT_LIST,       /* struct opt_list, repeatable strings; no default (the
                       server applies its own when the list is empty) */
};

struct opt_list {
    const char **v;
    size_t n;
    char *tag;                /* with list_tag: which option gave each value */
};

/* Extra check on one value; returns -1 and fills err when it is bad. */
typedef int (*opt_check_fn)(const char *value, char *err, size_t errlen);

struct gale_opt {
    const char *name;         /* long name, without "--" */
    int short_name;           /* 0 when there is none */
    enum opt_type type;
    size_t offset;            /* where the value goes in the config */
    const char *metavar;      /* "PORT", "FILE"; NULL for flags */
    const char *help;         /* one line */
    const char *def;          /* default as text, parsed like argv; NULL for none */
    long min, max;            /* bounds for OPT_INT */
    const char *choices;      /* "text|json" for OPT_CHOICE */
    opt_check_fn check;       /* the value's form, when it is read; optional */
    opt_check_fn check_disk;  /* what it names on disk, once every option is read
                                 and --rundir entered (opt_check_disk); optional */
    char list_tag;            /* OPT_LIST: options sharing one list keep their order,
                                 each value marked with its option's tag */
};

#define OPT_AT(type, field) offsetof(type, field)

/* Fill cfg with the defaults of the table; -1 (a bug) when one is bad. */
int opt_defaults(const struct gale_opt *opts, void *cfg, char *err, size_t errlen);
/* Parse one value into cfg.  -1 and a message naming the option when bad. */
int opt_set(const struct gale_opt *o, void *cfg, const char *value, char *err, size_t errlen);
const struct gale_opt *opt_by_long(const struct gale_opt *opts, const char *name, size_t len);
const struct gale_opt *opt_by_short(const struct gale_opt *opts, int c);
int opt_takes_arg(const struct gale_opt *o);

/* "10s", "1.5", "250ms" -> seconds.  -1 when malformed. */
int opt_parse_duration(const char *s, double *out);
int opt_parse_size(const char *s, uint64_t *out);

/* opt_check_fns for options naming files, so that one that cannot be used
 * is a command-line mistake (exit status 2): a readable file, not a
 * directory; a readable file or directory; a file that may be created
 * (it is not a directory, and its folder exists; "-" passes). */
int opt_check_file(const char *path, char *err, size_t errlen);
int opt_check_readable(const char *path, char *err, size_t errlen);
int opt_check_new_file(const char *path, char *err, size_t errlen);

/* Once all options are read: OPT_FILE and OPT_DIR values given (not
 * their defaults) must exist, and every check_disk passes, for each value
 * of a list.  Relative paths are taken from the current folder, so call
 * it after entering --rundir.  -1 and a message naming the option. */
int opt_check_disk(const struct gale_opt *opts, const void *cfg, char *err, size_t errlen);

/* Frees what parsing allocated (the arrays of OPT_LIST options). */
void opt_free(const struct gale_opt *opts, void *cfg);

/* The option lines of --help, aligned. */
void opt_print_help(FILE *f, const struct gale_opt *opts);
/* "-p, --port=PORT" for the help and man pages. */
void opt_synopsis(const struct gale_opt *o, char *buf, size_t len);

#endif
