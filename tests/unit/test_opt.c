/*
 * Unit test of common/opt.c: every option type through opt_set (good and
 * bad values, errors naming the option), opt_defaults, the lookups by
 * long and short name, opt_synopsis, opt_print_help and opt_free.  TAP
 * output; exits non-zero when a check fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "opt.h"
#include "unit.h"

struct cfg {
    int flag, count;
    const char *string, *file, *dir, *path, *choice, *endpoint;
    long num, mode;
    double duration;
    uint64_t size;
    struct opt_list list;
    const char *log;
    struct opt_list zones;
};

/* A LIST element check: words without spaces. */
static int no_space(const char *v, char *err, size_t errlen)
{
    if (strchr(v, ' ')) {
        snprintf(err, errlen, "'%s' has a space", v);
        return -1;
    }
    return 0;
}

#define C(field) OPT_AT(struct cfg, field)

static const struct gale_opt opts[] = {
    { .name = "flag", .short_name = 'f', .type = OPT_FLAG, .offset = C(flag), .help = "a flag" },
    { .name = "count", .short_name = 'c', .type = OPT_COUNT, .offset = C(count),
      .help = "a count" },
    { .name = "string", .type = OPT_STRING, .offset = C(string), .metavar = "TEXT",
      .help = "a string", .def = "hello" },
    { .name = "file", .type = OPT_FILE, .offset = C(file), .metavar = "FILE",
      .help = "a file", .def = "/nonexistent/default.pem" },
    { .name = "dir", .type = OPT_DIR, .offset = C(dir), .metavar = "DIR", .help = "a dir" },
    { .name = "path", .type = OPT_PATH, .offset = C(path), .metavar = "PATH", .help = "a path" },
    { .name = "num", .short_name = 'n', .type = OPT_INT, .offset = C(num), .metavar = "N",
      .help = "a number", .def = "5", .min = 1, .max = 100 },
    { .name = "timeout", .type = OPT_DURATION, .offset = C(duration), .metavar = "SECONDS",
      .help = "a duration", .def = "1.5" },
    { .name = "size", .type = OPT_SIZE, .offset = C(size), .metavar = "BYTES",
      .help = "a size", .def = "64m" },
    { .name = "umask", .type = OPT_OCTAL, .offset = C(mode), .metavar = "OCTAL",
      .help = "a mode", .def = "022" },
    { .name = "format", .type = OPT_CHOICE, .offset = C(choice), .metavar = "FORMAT",
      .help = "a choice", .def = "text", .choices = "text|json" },
    { .name = "listen", .short_name = 'l', .type = OPT_ENDPOINT, .offset = C(endpoint),
      .metavar = "ENDPOINT", .help = "an endpoint", .def = "8080", .check = endpoint_check },
    { .name = "word", .type = OPT_LIST, .offset = C(list), .help = "a list",
      .check = no_space },
    { .name = "log", .type = OPT_PATH, .offset = C(log), .metavar = "FILE", .help = "a log",
      .check_disk = opt_check_new_file },
    { .name = "zone", .type = OPT_LIST, .offset = C(zones), .metavar = "FILE", .help = "files",
      .check_disk = opt_check_file },
    { 0 }
};

static struct cfg cfg;
static char err[1024];

static const struct gale_opt *opt(const char *name)
{
    return opt_by_long(opts, name, strlen(name));
}

static int set(const char *name, const char *value)
{
    err[0] = '\0';
    return opt_set(opt(name), &cfg, value, err, sizeof err);
}

/* A value that must be refused with an error naming "--name". */
static void refused(const char *name, const char *value)
{
    char want[64];
    snprintf(want, sizeof want, "--%s", name);
    CHECK(set(name, value) == -1, "--%s refuses '%s'", name, value);
    CHECK_HAS(err, want, "the error for --%s='%s' names the option", name, value);
}

/* A fresh cfg with name set to value (none for NULL), checked on disk. */
static int on_disk(const char *name, const char *value)
{
    opt_free(opts, &cfg);
    memset(&cfg, 0, sizeof cfg);
    opt_defaults(opts, &cfg, err, sizeof err);
    if (name && set(name, value) == -1)
        return -1;
    err[0] = '\0';
    return opt_check_disk(opts, &cfg, err, sizeof err);
}

static void refused_on_disk(const char *name, const char *value)
{
    char want[64];
    snprintf(want, sizeof want, "--%s", name);
    CHECK(on_disk(name, value) == -1, "--%s refuses '%s' on disk", name, value);
    CHECK_HAS(err, want, "the error for --%s='%s' names the option", name, value);
}

static void test_simple(void)
{
    memset(&cfg, 0, sizeof cfg);
    CHECK(set("flag", NULL) == 0 && cfg.flag == 1, "FLAG sets 1");
    CHECK(set("flag", NULL) == 0 && cfg.flag == 1, "FLAG given twice stays 1");
    set("count", NULL);
    set("count", NULL);
    CHECK(set("count", NULL) == 0 && cfg.count == 3, "COUNT counts three times");
    CHECK(set("string", "abc") == 0, "STRING takes a value");
    CHECK_STR(cfg.string, "abc", "STRING is stored");
    CHECK(set("string", "") == 0 && cfg.string[0] == '\0', "STRING may be empty");
    CHECK(set("format", "json") == 0, "CHOICE json");
    CHECK_STR(cfg.choice, "json", "CHOICE is stored");
    refused("format", "xml");
    CHECK_HAS(err, "text|json", "the CHOICE error lists the choices");
    refused("format", "");
    refused("format", "tex");
    refused("format", "text|json");
    CHECK(set("listen", "tcp:80:interface=127.0.0.1") == 0, "ENDPOINT takes a good endpoint");
    CHECK_STR(cfg.endpoint, "tcp:80:interface=127.0.0.1", "ENDPOINT is stored as text");
    CHECK(set("listen", "tcp:x") == -1, "ENDPOINT refuses 'tcp:x' through its check");
    CHECK_HAS(err, "bad endpoint 'tcp:x'", "the ENDPOINT error comes from endpoint_check");
    CHECK_STR(cfg.endpoint, "tcp:80:interface=127.0.0.1", "a refused value leaves the old one");
    refused("listen", "tcp:x");
}

static void test_paths(void)
{
    char dir[] = "/tmp/gale-test-opt-XXXXXX";
    char file[64], missing[64], sub[96];
    CHECK(mkdtemp(dir) != NULL, "made a temporary directory");
    snprintf(file, sizeof file, "%s/readable", dir);
    snprintf(missing, sizeof missing, "%s/missing", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL, "made a readable file");
    if (f)
        fclose(f);

    CHECK(on_disk("file", file) == 0 && cfg.file == (const char *)file, "FILE takes a readable file");
    refused_on_disk("file", missing);
    CHECK_HAS(err, "missing", "the FILE error names the file");
    refused_on_disk("file", dir);
    CHECK_HAS(err, "directory", "FILE refuses a directory");
    refused("file", "");
    CHECK(on_disk(NULL, NULL) == 0, "a FILE's default is not looked for");
    CHECK(on_disk("dir", dir) == 0 && cfg.dir == (const char *)dir, "DIR takes a directory");
    refused_on_disk("dir", file);
    refused_on_disk("dir", missing);
    refused("dir", "");
    CHECK(on_disk("path", missing) == 0 && cfg.path == (const char *)missing,
          "PATH takes a path that does not exist yet");
    refused("path", "");
    CHECK(on_disk("log", missing) == 0, "a new file in a folder that exists");
    CHECK(on_disk("log", file) == 0 && on_disk("log", "-") == 0, "an existing file, and '-'");
    refused_on_disk("log", dir);
    CHECK_HAS(err, "is a directory", "a folder is no file to write");
    snprintf(sub, sizeof sub, "%s/none/x.log", dir);
    refused_on_disk("log", sub);
    CHECK_HAS(err, "no folder", "a file in a folder that does not exist");
    CHECK(on_disk("zone", file) == 0, "a list value passes its check_disk");
    set("zone", missing);
    CHECK(opt_check_disk(opts, &cfg, err, sizeof err) == -1, "a second list value fails it");
    CHECK_HAS(err, "--zone: cannot read", "and is named");
    opt_free(opts, &cfg);
    unlink(file);
    rmdir(dir);
}

static void test_numbers(void)
{
    CHECK(set("num", "1") == 0 && cfg.num == 1, "INT at its minimum");
    CHECK(set("num", "100") == 0 && cfg.num == 100, "INT at its maximum");
    refused("num", "0");
    CHECK_HAS(err, "from 1 to 100", "the INT error gives the bounds");
    refused("num", "101");
    refused("num", "");
    refused("num", "x");
    refused("num", "5x");
    refused("num", "1.5");
    refused("num", "99999999999999999999999");
    CHECK(cfg.num == 100, "refused INT values leave the old one");

    CHECK(set("umask", "022") == 0 && cfg.mode == 022, "OCTAL 022");
    CHECK(set("umask", "7777") == 0 && cfg.mode == 07777, "OCTAL 7777");
    CHECK(set("umask", "0") == 0 && cfg.mode == 0, "OCTAL 0");
    refused("umask", "8");
    refused("umask", "17777");
    refused("umask", "-1");
    refused("umask", "");
    refused("umask", "0x1");
}

static void test_duration_size(void)
{
    static const struct { const char *text; double secs; } durations[] = {
        { "10", 10 }, { "1.5", 1.5 }, { "500ms", 0.5 }, { "2m", 120 }, { "1h", 3600 },
        { "3s", 3 }, { "0", 0 },
    };
    for (size_t k = 0; k < sizeof durations / sizeof durations[0]; k++)
        CHECK(set("timeout", durations[k].text) == 0 && cfg.duration == durations[k].secs,
              "DURATION '%s' is %g s", durations[k].text, durations[k].secs);
    static const char *bad_durations[] = { "", "x", "-1", "10q", "1 h", "inf", "nan", "1e10" };
    for (size_t k = 0; k < sizeof bad_durations / sizeof bad_durations[0]; k++)
        refused("timeout", bad_durations[k]);

    static const struct { const char *text; uint64_t bytes; } sizes[] = {
        { "512k", 512u << 10 }, { "64m", 64u << 20 }, { "1g", 1u << 30 }, { "100", 100 },
        { "0", 0 }, { "2K", 2048 }, { "18446744073709551615", UINT64_MAX },
        { "17179869183g", UINT64_MAX >> 30 << 30 },
    };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        CHECK(set("size", sizes[k].text) == 0 && cfg.size == sizes[k].bytes,
              "SIZE '%s' is %llu bytes", sizes[k].text, (unsigned long long)sizes[k].bytes);
    static const char *bad_sizes[] = {
        "1.5m", "", "x", "-1", "10q", "18446744073709551616", "17179869184g",
        "18014398509481984k",
    };
    for (size_t k = 0; k < sizeof bad_sizes / sizeof bad_sizes[0]; k++)
        refused("size", bad_sizes[k]);
    CHECK(opt_parse_size("1kb", &cfg.size) == 0 && cfg.size == 1024, "opt_parse_size '1kb'");
    double d;
    CHECK(opt_parse_duration("250ms", &d) == 0 && d == 0.25, "opt_parse_duration '250ms'");
}

static void test_list(void)
{
    memset(&cfg.list, 0, sizeof cfg.list);
    CHECK(set("word", "a") == 0 && set("word", "b") == 0 && set("word", "c") == 0,
          "LIST takes three values");
    CHECK(cfg.list.n == 3, "LIST holds three values");
    if (cfg.list.n == 3) {
        CHECK_STR(cfg.list.v[0], "a", "LIST keeps the order (first)");
        CHECK_STR(cfg.list.v[2], "c", "LIST keeps the order (last)");
    }
    CHECK(set("word", "two words") == -1, "LIST checks each value");
    CHECK_HAS(err, "has a space", "the LIST error comes from its check");
    CHECK(cfg.list.n == 3, "a refused value is not added");
    refused("word", "two words");

    int added = 0;
    while (added < 10000 && set("word", "w") == 0)
        added++;
    CHECK(added > 100 && added < 10000, "LIST stops growing at a limit (%d values)", added);
    CHECK_HAS(err, "--word", "the too-many error names the option");
    opt_free(opts, &cfg);
    CHECK(cfg.list.v == NULL && cfg.list.n == 0, "opt_free empties the list");
    opt_free(opts, &cfg);
    CHECK(cfg.list.n == 0, "opt_free twice is harmless");
}

static void test_defaults(void)
{
    memset(&cfg, 0, sizeof cfg);
    CHECK(opt_defaults(opts, &cfg, err, sizeof err) == 0, "opt_defaults of a good table");
    CHECK_STR(cfg.string, "hello", "default STRING");
    CHECK_STR(cfg.file, "/nonexistent/default.pem", "a default FILE need not exist");
    CHECK(cfg.num == 5, "default INT");
    CHECK(cfg.duration == 1.5, "default DURATION");
    CHECK(cfg.size == 64u << 20, "default SIZE");
    CHECK(cfg.mode == 022, "default OCTAL");
    CHECK_STR(cfg.choice, "text", "default CHOICE");
    CHECK_STR(cfg.endpoint, "8080", "default ENDPOINT");
    CHECK(cfg.flag == 0 && cfg.count == 0 && cfg.dir == NULL && cfg.list.n == 0,
          "options without a default are left alone");

    static const struct gale_opt broken[] = {
        { .name = "n", .type = OPT_INT, .offset = C(num), .def = "500", .min = 1, .max = 10,
          .help = "out of bounds" },
        { 0 }
    };
    CHECK(opt_defaults(broken, &cfg, err, sizeof err) == -1, "a bad default is refused");
    CHECK_HAS(err, "--n", "the bad default's error names the option");
}

static void test_lookup(void)
{
    CHECK(opt_by_long(opts, "num", 3) == &opts[6], "opt_by_long finds --num");
    CHECK(opt_by_long(opts, "number", 3) == &opts[6], "opt_by_long uses only len bytes");
    CHECK(opt_by_long(opts, "nu", 2) == NULL, "opt_by_long takes no prefixes");
    CHECK(opt_by_long(opts, "numb", 4) == NULL, "opt_by_long: unknown name");
    CHECK(opt_by_short(opts, 'n') == &opts[6], "opt_by_short finds -n");
    CHECK(opt_by_short(opts, 'z') == NULL, "opt_by_short: unknown letter");
    CHECK(opt_by_short(opts, 0) == NULL, "opt_by_short(0) finds nothing");
    CHECK(!opt_takes_arg(opt("flag")) && !opt_takes_arg(opt("count")) &&
          opt_takes_arg(opt("word")) && opt_takes_arg(opt("num")), "opt_takes_arg");
}

static void test_synopsis(void)
{
    char buf[128];
    opt_synopsis(opt("num"), buf, sizeof buf);
    CHECK_STR(buf, "-n, --num=N", "synopsis with a short name");
    opt_synopsis(opt("size"), buf, sizeof buf);
    CHECK_STR(buf, "--size=BYTES", "synopsis of a long-only option");
    opt_synopsis(opt("flag"), buf, sizeof buf);
    CHECK_STR(buf, "-f, --flag", "synopsis of a flag");
    opt_synopsis(opt("word"), buf, sizeof buf);
    CHECK_STR(buf, "--word=VALUE", "synopsis without a metavar");
    opt_synopsis(opt("num"), buf, 6);
    CHECK_STR(buf, "-n, -", "synopsis is cut to its buffer");
}

static void test_help(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!CHECK(f != NULL, "open_memstream"))
        return;
    opt_print_help(f, opts);
    fclose(f);
    for (const struct gale_opt *o = opts; o->name; o++) {
        char syn[128];
        opt_synopsis(o, syn, sizeof syn);
        CHECK_HAS(text, syn, "help shows %s", syn);
        CHECK_HAS(text, o->help, "help shows the help of --%s", o->name);
    }
    CHECK_HAS(text, "[default: 64m]", "help shows [default: 64m]");
    CHECK_HAS(text, "[default: 8080]", "help shows [default: 8080]");
    CHECK_HAS(text, "(text|json)", "help shows the choices");
    CHECK_HAS(text, "(repeatable)", "help marks a LIST repeatable");

    /* The help texts start in one column. */
    int column = -1, aligned = 1;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        for (const struct gale_opt *o = opts; o->name; o++) {
            char *h = strstr(line, o->help);
            if (h && (!nl || h < nl)) {
                int c = (int)(h - line);
                aligned &= column == -1 || c == column;
                column = c;
                break;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    CHECK(aligned, "the help texts line up");
    free(text);
}

int main(void)
{
    test_simple();
    test_paths();
    test_numbers();
    test_duration_size();
    test_list();
    test_defaults();
    test_lookup();
    test_synopsis();
    test_help();
    opt_free(opts, &cfg);
    return unit_done();
}
