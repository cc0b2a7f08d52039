/*
 * gale's entry point: pick the subcommand (from argv[0] "gale-NAME" or
 * argv[1]), parse global and subcommand options from their tables, and
 * answer --help and --version in one place.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "gendoc.h"
#include "globals.h"
#include "reactor.h"
#include "run.h"
#include "runcmd.h"
#include "server.h"

#define EXIT_USAGE 2

static const char *prog = "gale";      /* "gale" or "gale portforward" in messages */
static char prog_buf[128];

const struct gale_server *gale_server_find(const char *name)
{
    for (size_t i = 0; gale_servers[i]; i++)
        if (strcmp(gale_servers[i]->name, name) == 0)
            return gale_servers[i];
    return NULL;
}

static _Noreturn void usage_error(const char *help_cmd, const char *msg)
{
    fprintf(stderr, "%s: %s; see '%s --help'\n", prog, msg, help_cmd);
    exit(EXIT_USAGE);
}

static void print_main_help(void)
{
    printf("Usage: gale [GLOBAL OPTIONS] SUBCOMMAND [OPTIONS]\n"
           "       gale-SUBCOMMAND [OPTIONS]\n\n"
           "Ready-made network servers sharing one event loop.\n\nSubcommands:\n");
    for (size_t i = 0; gale_servers[i]; i++)
        printf("  %-14s %s\n", gale_servers[i]->name, gale_servers[i]->summary);
    printf("  %-14s %s\n", "run", "several servers from one file, in one process");
    printf("\nGlobal options (before the subcommand; their long forms also after it):\n");
    opt_print_help(stdout, global_opts);
    printf("\nRun 'gale SUBCOMMAND --help' for the options of each server.\n");
}

static void print_server_help(const struct gale_server *s)
{
    printf("Usage: gale [GLOBAL OPTIONS] %s [OPTIONS]\n\n%s.\n\n%s\n\nOptions:\n",
           s->name, s->summary, s->description);
    opt_print_help(stdout, s->opts);
    printf("\nGlobal options such as --pidfile, --logfile and --daemon are accepted too\n"
           "(see 'gale --help').\n");
}

static void print_reactors(void)
{
    printf("Event backends available here (first is the default):\n");
    for (const char **m = reactor_methods(); *m; m++)
        printf("  %s\n", *m);
}

static _Noreturn void unknown_server(const char *name)
{
    char msg[1024];
    size_t n = (size_t)snprintf(msg, sizeof msg, "unknown subcommand '%s' (servers:", name);
    for (size_t i = 0; gale_servers[i] && n < sizeof msg; i++)
        n += (size_t)snprintf(msg + n, sizeof msg - n, " %s", gale_servers[i]->name);
    if (n < sizeof msg)
        snprintf(msg + n, sizeof msg - n, ")");
    usage_error("gale", msg);
}

static int gendoc(int argc, char **argv)
{
    char err[256];
    if (argc < 3) {
        fprintf(stderr, "gale --gendoc man|bash|zsh|fish|list [SUBCOMMAND]\n");
        return EXIT_USAGE;
    }
    if (gendoc_run(argv[2], argc > 3 ? argv[3] : NULL, stdout, err, sizeof err) == -1) {
        fprintf(stderr, "gale --gendoc: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}

/* Subcommand options, then global long options it does not define. */
static void *parse_server_args(const struct gale_server *s, int argc, char **argv, int i,
                               struct global_cfg *g, struct run_line_opts *name)
{
    char err[512];
    char help_cmd[128];
    snprintf(help_cmd, sizeof help_cmd, "gale %s", s->name);
    snprintf(prog_buf, sizeof prog_buf, "gale %s", s->name);
    prog = prog_buf;
    void *cfg = calloc(1, s->cfg_size ? s->cfg_size : 1);
    if (!cfg)
        usage_error(help_cmd, "out of memory");
    if (opt_defaults(s->opts, cfg, err, sizeof err) == -1)
        usage_error(help_cmd, err);
    struct opt_table tabs[] = { { s->opts, cfg, 1 }, { global_opts, g, 0 },
                                { runcmd_line_opts, name, 0 } };
    if (args_walk(argc, argv, &i, tabs, 3, 0, err, sizeof err) == -1)
        usage_error(help_cmd, err);
    if (g->help) {
        print_server_help(s);
        exit(0);
    }
    return cfg;
}

/* --rundir is entered before anything on disk is looked at, so that every
 * relative path, in any option, is taken from there; then the files the
 * options name are checked, then the server's own checks run. */
static void check_before_run(const struct gale_server *s, void *cfg, struct global_cfg *g)
{
    char err[512], help_cmd[128];
    snprintf(help_cmd, sizeof help_cmd, "gale %s", s->name);
    if (g->rundir) {
        if (chdir(g->rundir) == -1) {
            snprintf(err, sizeof err, "--rundir: cannot change to %s: %s", g->rundir,
                     strerror(errno));
            usage_error(help_cmd, err);
        }
        g->rundir = NULL;          /* entered: nothing further to do */
    }
    if (opt_check_disk(global_opts, g, err, sizeof err) == -1 ||
        opt_check_disk(s->opts, cfg, err, sizeof err) == -1 ||
        (s->check && s->check(cfg, err, sizeof err) == -1))
        usage_error(help_cmd, err);
}

static const struct gale_server *server_from_argv0(const char *argv0)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", argv0);
    const char *base = basename(buf);
    if (strncmp(base, "gale-", 5) != 0)
        return NULL;
    const struct gale_server *s = gale_server_find(base + 5);
    if (!s)
        unknown_server(base + 5);
    return s;
}

int main(int argc, char **argv)
{
    struct global_cfg g = { .umask = -1 };
    char err[512];
    int i = 1;
    if (argc > 1 && strcmp(argv[1], "--gendoc") == 0)
        return gendoc(argc, argv);
    if (opt_defaults(global_opts, &g, err, sizeof err) == -1)
        usage_error("gale", err);
    const struct gale_server *s = server_from_argv0(argv[0]);
    if (!s) {
        struct opt_table tabs[] = { { global_opts, &g, 1 } };
        if (args_walk(argc, argv, &i, tabs, 1, 1, err, sizeof err) == -1)
            usage_error("gale", err);
        if (g.version) {
            printf("gale %s\n", GALE_VERSION);
            return 0;
        }
        if (g.help_reactors) {
            print_reactors();
            return 0;
        }
        if (i >= argc) {
            if (g.help) {
                print_main_help();
                return 0;
            }
            usage_error("gale", "no subcommand given");
        }
        if (strcmp(argv[i], "run") == 0)
            return runcmd_main(argc, argv, i + 1, &g);
        s = gale_server_find(argv[i]);
        if (!s)
            unknown_server(argv[i]);
        i++;
    }
    struct run_line_opts name = { NULL };
    void *cfg = parse_server_args(s, argc, argv, i, &g, &name);
    if (g.version || g.help_reactors) {
        if (g.version)
            printf("gale %s\n", GALE_VERSION);
        else
            print_reactors();
        if (s->cleanup)
            s->cleanup(cfg);
        opt_free(s->opts, cfg);
        free(cfg);
        return 0;
    }
    check_before_run(s, cfg, &g);
    return run_server(s, cfg, &g, name.name);
}
