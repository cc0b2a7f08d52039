/*
 * Unit test of the command line walk, cli/args.c, over two tables as
 * gale uses them: a subcommand's table with short names and the global
 * table, long names only.  cli/args.c is part of the gale executable, not
 * of galecore, so it is compiled into this test.  TAP output; exits
 * non-zero when a check fails.
 */
#include "../../cli/args.c"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

struct sub_cfg {
    const char *port;
    long num;
    int verbose, all;
    const char *shared;
};

struct global_cfg {
    int daemon, quiet;
    const char *logfile, *shared;
};

static const struct gale_opt sub_opts[] = {
    { .name = "port", .short_name = 'p', .type = OPT_STRING,
      .offset = OPT_AT(struct sub_cfg, port), .metavar = "PORT", .help = "port" },
    { .name = "num", .short_name = 'n', .type = OPT_INT, .offset = OPT_AT(struct sub_cfg, num),
      .metavar = "N", .help = "number", .min = 0, .max = 1000 },
    { .name = "verbose", .short_name = 'v', .type = OPT_COUNT,
      .offset = OPT_AT(struct sub_cfg, verbose), .help = "more" },
    { .name = "all", .short_name = 'a', .type = OPT_FLAG, .offset = OPT_AT(struct sub_cfg, all),
      .help = "all" },
    { .name = "shared", .type = OPT_STRING, .offset = OPT_AT(struct sub_cfg, shared),
      .metavar = "X", .help = "in both tables" },
    { 0 }
};

static const struct gale_opt global_opts[] = {
    { .name = "daemon", .short_name = 'd', .type = OPT_FLAG,
      .offset = OPT_AT(struct global_cfg, daemon), .help = "detach" },
    { .name = "quiet", .short_name = 'q', .type = OPT_COUNT,
      .offset = OPT_AT(struct global_cfg, quiet), .help = "less" },
    { .name = "logfile", .short_name = 'l', .type = OPT_PATH,
      .offset = OPT_AT(struct global_cfg, logfile), .metavar = "FILE", .help = "log file" },
    { .name = "shared", .type = OPT_STRING, .offset = OPT_AT(struct global_cfg, shared),
      .metavar = "X", .help = "in both tables" },
    { 0 }
};

static struct sub_cfg sub;
static struct global_cfg glob;
static char err[512];
static int next;   /* where the walk stopped */

/* Walks a NULL-terminated list of words (argv[0] is "gale") over both
 * tables, the subcommand's first; returns what args_walk returned. */
static int walk(int stop_at_word, ...)
{
    static char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, stop_at_word);
    argv[argc++] = "gale";
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;

    memset(&sub, 0, sizeof sub);
    memset(&glob, 0, sizeof glob);
    err[0] = '\0';
    next = 1;
    const struct opt_table tabs[] = { { sub_opts, &sub, 1 }, { global_opts, &glob, 0 } };
    return args_walk(argc, argv, &next, tabs, 2, stop_at_word, err, sizeof err);
}

static void test_values(void)
{
    CHECK(walk(0, "--port=80", NULL) == 0, "--port=80");
    CHECK_STR(sub.port, "80", "--name=value stores the value");
    CHECK(walk(0, "--port", "81", NULL) == 0 && next == 3, "--port 81 uses the next word");
    CHECK_STR(sub.port, "81", "--name value stores the value");
    CHECK(walk(0, "--port=", NULL) == 0 && sub.port && !sub.port[0], "--port= is an empty value");
    CHECK(walk(0, "-p", "82", NULL) == 0 && next == 3, "-p 82");
    CHECK_STR(sub.port, "82", "-x value stores the value");
    CHECK(walk(0, "-p83", NULL) == 0, "-p83");
    CHECK_STR(sub.port, "83", "-xvalue stores the value");
    CHECK(walk(0, "-p", "--all", NULL) == 0 && !sub.all, "-p takes a value that looks like an option");
    CHECK_STR(sub.port, "--all", "the value of -p is '--all'");
    CHECK(walk(0, "-vv", NULL) == 0 && sub.verbose == 2, "-vv counts twice");
    CHECK(walk(0, "-vav", "-v", NULL) == 0 && sub.verbose == 3 && sub.all == 1,
          "bundled flags -vav -v");
    CHECK(walk(0, "-vap84", NULL) == 0 && sub.all && sub.verbose == 1, "-vap84: flags, then a value");
    CHECK_STR(sub.port, "84", "the value after bundled flags");
    CHECK(walk(0, "-van", "7", "--verbose", NULL) == 0 && sub.num == 7 && sub.verbose == 2,
          "-van 7: flags, then a value in the next word");
    CHECK(walk(0, NULL) == 0 && next == 1, "no arguments at all");
}

static void test_errors(void)
{
    CHECK(walk(0, "--nope", NULL) == -1, "unknown long option");
    CHECK_HAS(err, "--nope", "the error names --nope");
    CHECK(walk(0, "--nope=1", NULL) == -1, "unknown long option with a value");
    CHECK_STR(err, "unknown option '--nope'", "the error names --nope without its value");
    CHECK(walk(0, "-z", NULL) == -1, "unknown short option");
    CHECK_HAS(err, "-z", "the error names -z");
    CHECK(walk(0, "-vz", NULL) == -1, "unknown short option in a bundle");
    CHECK_HAS(err, "'-z'", "the error names the unknown letter");
    CHECK(walk(0, "--port", NULL) == -1, "--port without a value");
    CHECK_HAS(err, "--port", "the error names --port");
    CHECK_HAS(err, "PORT", "the error names the metavar");
    CHECK(walk(0, "-p", NULL) == -1, "-p without a value");
    CHECK_HAS(err, "-p", "the error names -p");
    CHECK(walk(0, "--all=1", NULL) == -1, "a value given to a flag");
    CHECK_HAS(err, "--all", "the error names --all");
    CHECK(walk(0, "--verbose=2", NULL) == -1, "a value given to a count");
    CHECK(walk(0, "--num=x", NULL) == -1, "a bad value");
    CHECK_HAS(err, "--num", "the bad value's error names --num");
    CHECK(walk(0, "-nx", NULL) == -1, "a bad value after a short name");
    CHECK_HAS(err, "--num", "the error names --num");
    CHECK(walk(0, "serve", NULL) == -1, "an unexpected word");
    CHECK_HAS(err, "'serve'", "the error names the word");
    CHECK(walk(0, "-v", "-", NULL) == -1, "a lone '-' is a word");
    CHECK(walk(0, "--all", "extra", "--verbose", NULL) == -1 && sub.all && !sub.verbose,
          "the walk stops at the unexpected word");
}

static void test_end_and_stop(void)
{
    CHECK(walk(0, "-v", "--", NULL) == 0 && next == 3 && sub.verbose == 1, "-- at the end");
    CHECK(walk(0, "--", "-v", NULL) == -1 && sub.verbose == 0,
          "-- ends the options: what follows is not parsed");
    CHECK_HAS(err, "'-v'", "a word after -- is unexpected without stop_at_word");
    CHECK(walk(1, "-v", "--", "-v", NULL) == 0 && sub.verbose == 1 && next == 3,
          "stop_at_word: -- ends the options and *i points after it");
    CHECK(walk(1, "-v", "web", "--all", NULL) == 0 && next == 2 && !sub.all,
          "stop_at_word stops at the first word and leaves *i on it");
    CHECK(walk(1, "--port", "web", "serve", NULL) == 0 && next == 3,
          "stop_at_word: an option's value is not the word");
    CHECK(walk(1, "-v", NULL) == 0 && next == 2, "stop_at_word with no word: *i == argc");
    CHECK(walk(1, "--nope", "web", NULL) == -1, "stop_at_word still refuses unknown options");
}

static void test_two_tables(void)
{
    CHECK(walk(0, "--all", "--daemon", "--logfile", "/tmp/x.log", NULL) == 0,
          "global long options after the subcommand's");
    CHECK(sub.all && glob.daemon, "a global flag lands in the global config");
    CHECK_STR(glob.logfile, "/tmp/x.log", "a global value lands in the global config");
    CHECK(walk(0, "--quiet", "--quiet", NULL) == 0 && glob.quiet == 2, "a global count");
    CHECK(walk(0, "--shared=s", NULL) == 0, "a name in both tables");
    CHECK_STR(sub.shared, "s", "the subcommand's option wins");
    CHECK(glob.shared == NULL, "the global one is not set");
    CHECK(walk(0, "-d", NULL) == -1 && !glob.daemon, "-d of a global option is refused (short_ok=0)");
    CHECK_HAS(err, "'-d'", "the error names -d");
    CHECK(walk(0, "-l", "/tmp/x.log", NULL) == -1, "-l of a global option is refused");
    CHECK(walk(0, "-vq", NULL) == -1, "a global short name in a bundle is refused");

    /* With short_ok=1 the global table's short names count. */
    char *argv[] = { "gale", "-dq", "-l", "/tmp/y.log", "web", NULL };
    int i = 1;
    memset(&glob, 0, sizeof glob);
    const struct opt_table tabs[] = { { global_opts, &glob, 1 } };
    CHECK(args_walk(5, argv, &i, tabs, 1, 1, err, sizeof err) == 0 && i == 4,
          "one table with short_ok=1 stops at the word");
    CHECK(glob.daemon && glob.quiet == 1, "its short flags are set");
    CHECK_STR(glob.logfile, "/tmp/y.log", "its short option with a value is set");
}

int main(void)
{
    test_values();
    test_errors();
    test_end_and_stop();
    test_two_tables();
    return unit_done();
}
