/*
 * `gale run FILE`; see runcmd.h.  A file is loaded in three steps, each
 * reporting every bad line before it gives up: the words (runfile.c),
 * each line's subcommand and options, then the names and what the
 * options name on disk.  A loaded file is a list of unstarted instances,
 * which run.c starts; SIGHUP loads the file again and compares it, line
 * by line, with what runs.
 */
#include "runcmd.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "endpoint.h"
#include "instances.h"
#include "log.h"
#include "run.h"
#include "runfile.h"

#define EXIT_USAGE 2
#define ERRS_MAX 16384

const char runcmd_synopsis[] = "gale [GLOBAL OPTIONS] run [--check] FILE";
const char runcmd_description[] =
    "Runs every server FILE lists, all in one process on one event loop. Each line "
    "is a subcommand and its options, written as on the command line "
    "(\"web --port 8080 --path /srv/www\"); words are split as a POSIX shell splits "
    "them, with single and double quotes and backslashes, and nothing is expanded. "
    "A backslash at the end of a line continues it; # starts a comment outside "
    "quotes. --name NAME names a server in log lines (the default is the subcommand, "
    "then SUB2, SUB3). A line that starts with - holds global options for the whole "
    "process (--pidfile, --uid, ...); the command line's global options win over "
    "the file's. Every mistake is reported as FILE:LINE and nothing starts; if one "
    "server cannot start, none stays running. SIGHUP reads FILE again: unchanged "
    "lines keep serving and reload their files, new lines start, removed lines stop "
    "gracefully and changed lines restart.";

/* Every error of one load, each "FILE:LINE: why\n". */
struct errs {
    char buf[ERRS_MAX];
    size_t used;
    unsigned count;
};

static void errs_add(struct errs *e, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void errs_add(struct errs *e, const char *file, unsigned line, const char *fmt, ...)
{
    e->count++;
    if (e->used + 2 >= sizeof e->buf)
        return;
    int n = snprintf(e->buf + e->used, sizeof e->buf - e->used, "%s:%u: ", file, line);
    if (n > 0)
        e->used += (size_t)n < sizeof e->buf - e->used ? (size_t)n : sizeof e->buf - e->used - 1;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(e->buf + e->used, sizeof e->buf - e->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        e->used += (size_t)n < sizeof e->buf - e->used ? (size_t)n : sizeof e->buf - e->used - 1;
    if (e->used + 1 < sizeof e->buf)
        e->buf[e->used++] = '\n';
    e->buf[e->used] = '\0';
}

struct err_line {
    unsigned line;
    const char *text;
    size_t len;
};

static int by_line(const void *a, const void *b)
{
    const struct err_line *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->text < y->text ? -1 : x->text > y->text;      /* stable */
}

/* Each error in the order of the file's lines, whichever step found it. */
static void errs_each_sorted(const struct errs *e, const char *shown,
                             void (*fn)(const char *text, size_t len))
{
    size_t n = 0, cap = 0, slen = strlen(shown);
    struct err_line *v = NULL;
    for (const char *p = e->buf; *p;) {
        size_t len = strcspn(p, "\n");
        if (n == cap) {
            struct err_line *nv = realloc(v, (cap = cap ? 2 * cap : 32) * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        unsigned line = UINT_MAX;        /* "(N more errors)" stays last */
        if (strncmp(p, shown, slen) == 0 && p[slen] == ':')
            line = (unsigned)strtoul(p + slen + 1, NULL, 10);
        else if (*p != '(')
            line = 0;
        v[n++] = (struct err_line){ line, p, len };
        p += len + (p[len] == '\n');
    }
    qsort(v, n, sizeof *v, by_line);
    for (size_t k = 0; k < n; k++)
        fn(v[k].text, v[k].len);
    free(v);
}

/* A loaded file: its global lines, as words, and its servers. */
struct plan {
    char *globals;                  /* every global line's words, for comparing */
    struct run_instance *list;
    struct runfile rf;              /* the global options point into it */
};

static void plan_free(struct plan *p)
{
    while (p->list) {
        struct run_instance *ri = p->list;
        p->list = ri->next;
        instance_free(ri);
    }
    free(p->globals);
    p->globals = NULL;
    runfile_free(&p->rf);
}

/* The words joined with a separator no word holds (runfile refuses
 * control characters), so two lines are the same server iff equal. */
static char *join_words(char *prev, int argc, char **argv)
{
    size_t len = prev ? strlen(prev) + 1 : 0;
    for (int k = 0; k < argc; k++)
        len += strlen(argv[k]) + 1;
    char *s = realloc(prev, len + 1);
    if (!s)
        return prev;
    size_t at = prev ? strlen(s) : 0;
    if (prev)
        s[at++] = '\x1e';
    for (int k = 0; k < argc; k++)
        at += (size_t)sprintf(s + at, "%s%s", k ? "\x1f" : "", argv[k]);
    return s;
}

static char **copy_words(int argc, char **argv)
{
    char **w = calloc((size_t)argc + 1, sizeof *w);
    for (int k = 0; w && k < argc; k++)
        if (!(w[k] = strdup(argv[k]))) {
            while (k-- > 0)
                free(w[k]);
            free(w);
            return NULL;
        }
    return w;
}

/* --name: for any server, not in its own table. */

static int check_name(const char *s, char *err, size_t errlen)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
    if (*s == '\0' || s[n] != '\0' || n >= INSTANCE_NAME_MAX || *s == '-' || *s == '.') {
        snprintf(err, errlen, "'%s' is not a name (letters, digits, '_', '.', '-', "
                 "at most %d)", s, INSTANCE_NAME_MAX - 1);
        return -1;
    }
    return 0;
}

static const struct gale_opt line_opts[] = {
    { .name = "name", .type = OPT_STRING, .offset = OPT_AT(struct run_line_opts, name),
      .metavar = "NAME", .help = "the server's name in log lines (on any subcommand too)",
      .check = check_name },
    { 0 }
};

/* A global option on a server line would change the whole process: say
 * where it belongs instead of calling it unknown. */
static const char *global_on_server_line(const struct gale_server *s, int argc, char **argv)
{
    for (int k = 1; k < argc; k++) {
        if (strncmp(argv[k], "--", 2) != 0)
            continue;
        size_t len = strcspn(argv[k] + 2, "=");
        if (len && !opt_by_long(s->opts, argv[k] + 2, len) &&
            opt_by_long(global_opts, argv[k] + 2, len))
            return argv[k];
    }
    return NULL;
}

static struct run_instance *parse_server(const char *file, const struct runfile_line *l,
                                         struct errs *e)
{
    char err[512];
    const struct gale_server *s = gale_server_find(l->argv[0]);
    if (!s || strcmp(l->argv[0], "run") == 0) {
        errs_add(e, file, l->lineno, "unknown subcommand '%s'", l->argv[0]);
        return NULL;
    }
    char **words = copy_words(l->argc, l->argv);
    void *cfg = calloc(1, s->cfg_size ? s->cfg_size : 1);
    struct run_line_opts lo = { NULL };
    struct run_instance *ri = NULL;
    int i = 1;
    if (!words || !cfg || opt_defaults(s->opts, cfg, err, sizeof err) == -1) {
        errs_add(e, file, l->lineno, "out of memory");
    } else {
        struct opt_table tabs[] = { { s->opts, cfg, 1 }, { line_opts, &lo, 0 } };
        const char *global = global_on_server_line(s, l->argc, words);
        if (global)
            errs_add(e, file, l->lineno, "'%s' is a global option: put it on a line of "
                     "its own that starts with it", global);
        else if (args_walk(l->argc, words, &i, tabs, 2, 0, err, sizeof err) == -1)
            errs_add(e, file, l->lineno, "%s: %s", s->name, err);
        else if ((ri = instances_new(s, cfg, lo.name)) != NULL) {
            ri->lineno = l->lineno;
            ri->argv = words;
            ri->line = join_words(NULL, l->argc, l->argv);
            return ri;
        }
    }
    if (cfg)
        opt_free(s->opts, cfg);
    free(cfg);
    if (words)
        for (char **w = words; *w; w++)
            free(*w);
    free(words);
    return NULL;
}

static void parse_global(const char *file, const struct runfile_line *l, struct global_cfg *g,
                         struct plan *p, struct errs *e)
{
    char err[512];
    int i = 0;
    struct opt_table tabs[] = { { global_opts, g, 1 } };
    if (args_walk(l->argc, l->argv, &i, tabs, 1, 0, err, sizeof err) == -1)
        errs_add(e, file, l->lineno, "%s", err);
    p->globals = join_words(p->globals, l->argc, l->argv);
}

static struct run_instance *find_name(struct run_instance *list, const char *name)
{
    for (; list; list = list->next)
        if (strcmp(list->in.name, name) == 0)
            return list;
    return NULL;
}

/* Names given with --name must differ; the others are the subcommand,
 * then SUB2, SUB3, ... skipping names already taken. */
static void name_instances(const char *file, struct run_instance *list, struct errs *e)
{
    for (struct run_instance *ri = list; ri; ri = ri->next) {
        struct run_instance *other = ri->in.name[0] ? find_name(list, ri->in.name) : NULL;
        if (other && other != ri)
            errs_add(e, file, ri->lineno, "the name '%s' is taken by line %u", ri->in.name,
                     other->lineno);
    }
    for (struct run_instance *ri = list; ri; ri = ri->next) {
        if (ri->in.name[0])
            continue;
        char name[INSTANCE_NAME_MAX];
        snprintf(name, sizeof name, "%s", ri->s->name);
        for (unsigned k = 2; find_name(list, name); k++)
            snprintf(name, sizeof name, "%s%u", ri->s->name, k);
        snprintf(ri->in.name, sizeof ri->in.name, "%s", name);
    }
}

/* --- two servers on one address ------------------------------------- */

struct bound {
    const struct run_instance *ri;
    int udp;
    struct endpoint ep;
};

struct bound_set {
    struct bound *v;
    size_t n, cap;
    const struct run_instance *ri;    /* whose listens runs now */
};

static void add_bound(void *ctx, int udp, const char *desc)
{
    struct bound_set *bs = ctx;
    char err[256];
    if (bs->n == bs->cap) {
        size_t cap = bs->cap ? 2 * bs->cap : 16;
        struct bound *v = realloc(bs->v, cap * sizeof *v);
        if (!v)
            return;
        bs->v = v;
        bs->cap = cap;
    }
    struct bound *b = &bs->v[bs->n];
    if (endpoint_parse(desc, &b->ep, err, sizeof err) == -1)
        return;           /* the server's own check has said so */
    b->ri = bs->ri;
    b->udp = udp;
    bs->n++;
}

/* Would the kernel refuse the second bind?  Port 0 is any free port. */
static int clash(const struct bound *a, const struct bound *b)
{
    if (a->udp != b->udp)
        return 0;
    if (a->ep.kind == EP_SYSTEMD || b->ep.kind == EP_SYSTEMD)
        return a->ep.kind == b->ep.kind && a->ep.sd_index == b->ep.sd_index &&
               strcmp(a->ep.sd_name, b->ep.sd_name) == 0;
    if (a->ep.kind == EP_UNIX || b->ep.kind == EP_UNIX)
        return a->ep.kind == b->ep.kind && strcmp(a->ep.path, b->ep.path) == 0;
    if (a->ep.port == 0 || a->ep.port != b->ep.port)
        return 0;
    return !a->ep.has_interface || !b->ep.has_interface ||
           strcmp(a->ep.interface, b->ep.interface) == 0;
}

static void describe(const struct bound *b, char *buf, size_t len)
{
    if (b->ep.kind == EP_UNIX)
        snprintf(buf, len, "unix socket %s", b->ep.path);
    else if (b->ep.kind == EP_SYSTEMD)
        snprintf(buf, len, "systemd socket %s", b->ep.sd_name);
    else
        snprintf(buf, len, "%s port %d", b->udp ? "UDP" : "TCP", b->ep.port);
}

static void check_addresses(const char *file, struct run_instance *list, struct errs *e)
{
    struct bound_set bs = { 0 };
    for (struct run_instance *ri = list; ri; ri = ri->next) {
        size_t first = bs.n;
        bs.ri = ri;
        if (ri->checked && ri->s->listens)
            ri->s->listens(ri->cfg, add_bound, &bs);
        int found = 0;
        for (size_t k = first; k < bs.n && !found; k++)
            for (size_t j = 0; j < first && !found; j++)
                if ((found = clash(&bs.v[j], &bs.v[k]))) {
                    char what[320];
                    describe(&bs.v[k], what, sizeof what);
                    errs_add(e, file, ri->lineno, "%s: %s is taken by line %u", ri->s->name,
                             what, bs.v[j].ri->lineno);
                }
    }
    free(bs.v);
}

/* Once --rundir is entered: the files each line names, then the
 * server's own checks. */
static void check_instances(const char *file, struct run_instance *list, struct errs *e)
{
    char err[512];
    for (struct run_instance *ri = list; ri; ri = ri->next) {
        if (opt_check_disk(ri->s->opts, ri->cfg, err, sizeof err) == -1 ||
            (ri->s->check && ri->s->check(ri->cfg, err, sizeof err) == -1))
            errs_add(e, file, ri->lineno, "%s: %s", ri->s->name, err);
        else
            ri->checked = 1;
    }
}

/* The words and options of every line.  g: where global lines go, NULL
 * on a reload (they are only compared then). */
static void load_lines(const char *file, const char *text, size_t len, struct global_cfg *g,
                       struct plan *p, struct errs *e)
{
    struct global_cfg scratch;
    struct run_instance **tail = &p->list;
    if (runfile_parse(file, text, len, &p->rf, e->buf, sizeof e->buf) == -1) {
        e->used = strlen(e->buf);
        e->count++;
    }
    for (size_t k = 0; k < p->rf.n; k++) {
        const struct runfile_line *l = &p->rf.lines[k];
        if (l->argv[0][0] == '-') {
            scratch = (struct global_cfg){ .umask = -1 };
            parse_global(file, l, g ? g : &scratch, p, e);
        } else if ((*tail = parse_server(file, l, e)) != NULL) {
            tail = &(*tail)->next;
        }
    }
    if (!p->list && e->count == 0)
        errs_add(e, file, 1, "no servers: a line such as \"web --port 8080\" names one");
}

static void reparse_globals(char **argv, int run_at, struct global_cfg *g);

/* Reads path and checks every line, naming the file shown in messages;
 * -1 with e filled on any mistake.  At start (g set) the global lines go
 * into g, then the command line's (argv up to run_at), and --rundir is
 * entered; on a reload (g NULL) they are only compared. */
static int load(const char *path, const char *shown, struct global_cfg *g, char **argv,
                int run_at, struct plan *p, struct errs *e)
{
    char *text;
    size_t len;
    char err[512];
    memset(p, 0, sizeof *p);
    if (runfile_read(path, &text, &len, err, sizeof err) == -1) {
        snprintf(e->buf, sizeof e->buf, "%s\n", err);
        e->count = 1;
        return -1;
    }
    load_lines(shown, text, len, g, p, e);
    free(text);
    name_instances(shown, p->list, e);
    /* Every stage runs, so that each bad line is reported at once; only a
     * --rundir we cannot enter stops the checks of what is on disk. */
    if (g) {
        reparse_globals(argv, run_at, g);
        if (g->rundir && chdir(g->rundir) == -1) {
            errs_add(e, shown, 1, "--rundir: cannot change to %s: %s", g->rundir,
                     strerror(errno));
            return -1;
        }
        g->rundir = NULL;
        if (opt_check_disk(global_opts, g, err, sizeof err) == -1)
            errs_add(e, shown, 1, "%s", err);
    }
    check_instances(shown, p->list, e);
    check_addresses(shown, p->list, e);
    return e->count ? -1 : 0;
}

/* --- running ----------------------------------------------------------- */

static char file_path[PATH_MAX];          /* FILE, absolute: --rundir moves us */
static const char *file_shown;            /* FILE as the user wrote it */
static struct run_instance *running;
static char *running_globals;
static double retire_timeout;
static int file_at;                       /* FILE's index in argv */

static void log_error_line(const char *text, size_t len)
{
    log_error("event=reload-error error=\"%.*s\"", (int)len, text);
}

static void print_error_line(const char *text, size_t len)
{
    fprintf(stderr, "%.*s\n", (int)len, text);
}

/* Takes the instance whose line is the same as ri's out of *list. */
static struct run_instance *take_same(struct run_instance **list, const struct run_instance *ri)
{
    for (struct run_instance **pp = list; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->line, ri->line) == 0) {
            struct run_instance *same = *pp;
            *pp = same->next;
            same->next = NULL;
            return same;
        }
    return NULL;
}

struct reload_counts {
    unsigned kept, started, stopped, failed;
};

/* The new file's order: kept instances keep serving, new ones start. */
static struct run_instance *next_running(struct plan *p, struct run_instance **old,
                                         struct reload_counts *c)
{
    struct run_instance *head = NULL, **tail = &head;
    char err[512];
    while (p->list) {
        struct run_instance *ri = p->list;
        p->list = ri->next;
        ri->next = NULL;
        struct run_instance *same = take_same(old, ri);
        if (same) {
            same->lineno = ri->lineno;
            instance_free(ri);
            instance_reload(same);
            c->kept++;
            ri = same;
        } else if (instance_start(ri, err, sizeof err) == 0) {
            c->started++;
        } else {
            log_error("event=start-failed error=\"%s:%u: %s\"", file_shown, ri->lineno, err);
            instance_free(ri);
            c->failed++;
            continue;
        }
        *tail = ri;
        tail = &ri->next;
    }
    return head;
}

/* SIGHUP. */
static void reload_file(void)
{
    struct plan p;
    struct errs *e = calloc(1, sizeof *e);
    if (!e) {
        log_error("event=reload-refused error=\"out of memory\"");
        return;
    }
    if (load(file_path, file_shown, NULL, NULL, 0, &p, e) == -1) {
        errs_each_sorted(e, file_shown, log_error_line);
        log_error("event=reload-refused errors=%u", e->count);
        plan_free(&p);
        free(e);
        return;
    }
    free(e);
    if ((p.globals || running_globals) &&
        (!p.globals || !running_globals || strcmp(p.globals, running_globals) != 0))
        log_warnx("event=reload global options are read at start only: restart to change them");
    struct run_instance *old = running;
    struct reload_counts c = { 0 };
    running = NULL;
    /* Lines that went or changed stop first, so their sockets are free
     * for what replaces them. */
    struct run_instance *keep = NULL;
    while (old) {
        struct run_instance *ri = old;
        old = ri->next;
        ri->next = NULL;
        struct run_instance *probe = p.list;
        while (probe && strcmp(probe->line, ri->line) != 0)
            probe = probe->next;
        if (probe) {
            ri->next = keep;
            keep = ri;
        } else {
            instance_retire(ri, retire_timeout);
            c.stopped++;
        }
    }
    running = next_running(&p, &keep, &c);
    plan_free(&p);
    log_info("event=reloaded kept=%u started=%u stopped=%u failed=%u", c.kept, c.started,
             c.stopped, c.failed);
}

struct run_opts {
    int check;
    int help;
};

const struct gale_opt runcmd_opts[] = {
    { .name = "check", .type = OPT_FLAG, .offset = OPT_AT(struct run_opts, check),
      .help = "read and check FILE, start nothing (exit status 0 or 2)" },
    { .name = "help", .short_name = 'h', .type = OPT_FLAG, .offset = OPT_AT(struct run_opts, help),
      .help = "show this help" },
    { 0 }
};
const struct gale_opt *const runcmd_line_opts = line_opts;

static void print_help(void)
{
    printf("Usage: %s\n\n%s\n\nOptions:\n", runcmd_synopsis, runcmd_description);
    opt_print_help(stdout, runcmd_opts);
    printf("\nOn a line of FILE, besides the subcommand's own options:\n");
    opt_print_help(stdout, line_opts);
    printf("\nGlobal options such as --pidfile, --logfile and --daemon are accepted too\n"
           "(see 'gale --help'), before or after 'run' or on a line of FILE.\n");
}

static _Noreturn void usage(const char *msg)
{
    fprintf(stderr, "gale run: %s; see 'gale run --help'\n", msg);
    exit(EXIT_USAGE);
}

/* The words after "run": its options and global long options, then FILE.
 * Returns FILE's index. */
static int walk_run_args(int argc, char **argv, int i, struct run_opts *ro,
                         struct global_cfg *g)
{
    char err[512];
    struct opt_table tabs[] = { { runcmd_opts, ro, 1 }, { global_opts, g, 0 } };
    if (args_walk(argc, argv, &i, tabs, 2, 1, err, sizeof err) == -1)
        usage(err);
    return i;
}

/* The command line's global options, again: over the file's, they win. */
static void reparse_globals(char **argv, int run_at, struct global_cfg *g)
{
    char err[512];
    int i = 1;
    struct run_opts ro = { 0 };
    struct opt_table tabs[] = { { global_opts, g, 1 } };
    if (args_walk(run_at, argv, &i, tabs, 1, 1, err, sizeof err) == -1)
        usage(err);
    walk_run_args(file_at, argv, run_at + 1, &ro, g);
}

int runcmd_main(int argc, char **argv, int i, struct global_cfg *g)
{
    struct run_opts ro = { 0 };
    file_at = walk_run_args(argc, argv, i, &ro, g);
    if (ro.help || g->help) {
        print_help();
        return 0;
    }
    if (file_at >= argc)
        usage("no FILE given");
    if (file_at + 1 < argc)
        usage("one FILE only, and the options before it");
    const char *file = argv[file_at];
    int check = ro.check;
    static struct errs e;
    static struct plan p;
    file_shown = file;
    if (!realpath(file, file_path)) {
        fprintf(stderr, "gale run: %s: %s\n", file, strerror(errno));
        return EXIT_USAGE;
    }
    *g = (struct global_cfg){ .umask = -1 };
    char err[512];
    if (opt_defaults(global_opts, g, err, sizeof err) == -1)
        usage(err);
    if (load(file, file, g, argv, i - 1, &p, &e) == -1) {
        errs_each_sorted(&e, file, print_error_line);
        plan_free(&p);
        return EXIT_USAGE;
    }
    if (check) {
        unsigned n = 0;
        for (struct run_instance *ri = p.list; ri; ri = ri->next)
            n++;
        printf("%s: %u server%s, no errors\n", file, n, n == 1 ? "" : "s");
        plan_free(&p);
        return 0;
    }
    running = p.list;
    p.list = NULL;
    running_globals = p.globals;
    p.globals = NULL;
    retire_timeout = g->shutdown_timeout;
    int status = run_instances(&running, g, file_shown, reload_file);
    free(running_globals);
    plan_free(&p);
    return status;
}
