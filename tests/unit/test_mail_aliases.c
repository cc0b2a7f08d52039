/*
 * Unit test of servers/mail/aliases.c: Debian's and Sendmail's default
 * /etc/aliases, continuation lines, quoted pipes and names, :include:,
 * every error with its FILE:LINE, the bounds, lookups in any case, and
 * the expansion: self-reference, "\user", loops of two and three steps,
 * dedupe, the depth and result limits, includes left to the caller.
 */
#include "../../servers/mail/aliases.c"
#include "../../servers/mail/aliases_expand.c"

#include <limits.h>
#include <stdlib.h>

#include "unit.h"

static struct aliases al;
static char errs[4096];

/* Parses a heap copy of exactly the text's bytes, so ASan sees any read
 * past its end; the previous result is freed. */
static int parse_n(const char *text, size_t n)
{
    char *copy = malloc(n ? n : 1);
    memcpy(copy, text, n);
    aliases_free(&al);
    int rc = aliases_parse("aliases", copy, n, &al, errs, sizeof errs);
    free(copy);
    return rc;
}

static int parse(const char *text) { return parse_n(text, strlen(text)); }

static const struct alias_target *target(const char *name, size_t i)
{
    const struct alias_entry *e = aliases_find(&al, name);
    return e && i < e->n ? &e->t[i] : NULL;
}

static int target_is(const char *name, size_t i, enum alias_kind k, const char *value)
{
    const struct alias_target *t = target(name, i);
    return t && t->kind == k && strcmp(t->value, value) == 0;
}

static size_t count(const char *name)
{
    const struct alias_entry *e = aliases_find(&al, name);
    return e ? e->n : 0;
}

/* The expansion of name as "kind:value kind:value ...". */
static char got[8192];
static char experr[256];

static int collect(const struct alias_target *t, void *arg)
{
    size_t len = strlen(got);
    (void)arg;
    snprintf(got + len, sizeof got - len, "%s%s:%s%s", len ? " " : "", alias_kind_name(t->kind), t->value,
             t->kind == ALIAS_FILE && t->maildir ? "(maildir)" : "");
    return 0;
}

static int expand(const char *name)
{
    got[0] = '\0';
    strcpy(experr, "untouched");
    return aliases_expand(&al, name, collect, NULL, experr, sizeof experr);
}

static const char debian[] =
    "# /etc/aliases\n"
    "mailer-daemon: postmaster\n"
    "postmaster: root\n"
    "nobody: root\n"
    "hostmaster: root\n"
    "usenet: root\n"
    "news: root\n"
    "webmaster: root\n"
    "www: root\n"
    "ftp: root\n"
    "abuse: root\n"
    "noc: root\n"
    "security: root\n"
    "root: alice\n";

static const char sendmail[] =
    "#\n"
    "#  Aliases in this file will NOT be expanded in the header from\n"
    "#  Mail, but WILL be visible over networks or from /bin/mail.\n"
    "#\n"
    "#\t>>>>>>>>>>\tThe program \"newaliases\" must be run after\n"
    "#\t>> NOTE >>\tthis file is updated for any changes to\n"
    "#\t>>>>>>>>>>\tshow through to sendmail.\n"
    "#\n"
    "\n"
    "# Basic system aliases -- these MUST be present.\n"
    "MAILER-DAEMON:\tpostmaster\n"
    "postmaster:\troot\n"
    "\n"
    "# General redirections for pseudo accounts.\n"
    "bin:\t\troot\n"
    "daemon:\t\troot\n"
    "www:\t\twebmaster\n"
    "webmaster:\troot\n"
    "info:\t\tpostmaster\n"
    "\n"
    "# Person who should get root's mail\n"
    "#root:\t\tmarc\n";

static void test_default_files(void)
{
    CHECK(parse("# See man 5 aliases for format\npostmaster:    root\n") == 0 && al.n == 1,
          "Debian's postfix default: one entry (%s)", errs);
    CHECK(target_is("postmaster", 0, ALIAS_USER, "root"), "postmaster: root");
    CHECK_STR(errs, "", "no errors");

    CHECK(parse(debian) == 0 && al.n == 13, "Debian-style file: 13 entries (%s)", errs);
    CHECK(target_is("mailer-daemon", 0, ALIAS_USER, "postmaster"), "mailer-daemon: postmaster");
    CHECK(aliases_find(&al, "MAILER-DAEMON") == aliases_find(&al, "mailer-daemon"), "looked up in any case");
    CHECK(aliases_find(&al, "Root") && aliases_find(&al, "Root")->lineno == 14, "root at line 14");
    CHECK(expand("MAILER-DAEMON") == 0, "expand MAILER-DAEMON");
    CHECK_STR(got, "user:alice", "MAILER-DAEMON -> postmaster -> root -> alice");
    CHECK_STR(experr, "", "err emptied");
    CHECK(expand("Bob") == 0, "expand a name that is no alias");
    CHECK_STR(got, "user:bob", "...is that user, lowercased");

    CHECK(parse(sendmail) == 0 && al.n == 7, "Sendmail's default with tabs and comments (%s)", errs);
    CHECK(target_is("mailer-daemon", 0, ALIAS_USER, "postmaster"), "MAILER-DAEMON stored lowercase");
    CHECK_STR(al.v[0].name, "bin", "sorted: bin first");
    CHECK(aliases_find(&al, "root") == NULL, "the commented-out root is no entry");
    CHECK(expand("www") == 0, "expand www");
    CHECK_STR(got, "user:root", "www -> webmaster -> root");
}

static void test_forms(void)
{
    static const char text[] =
        "staff: alice,\n"
        "  bob,\n"
        "\n"
        "  # a comment inside the entry\n"
        "\tcarol\n"
        "  dave, erin,\n"
        "list: \"|/usr/bin/prog arg, with comma\", \"a b\"\n"
        "logger: |/usr/bin/logger -t mail  ,ops@Example.COM\n"
        "inc: :include:/etc/mail/list, :include: /etc/other, :INCLUDE:/etc/third\n"
        "files: /var/mail/archive, /home/a/Maildir/ , \"/srv/with space\"\n"
        "\"a b\": \\Alice, \"quoted \\\"x\\\" \\\\ \\n\"\n"
        "\"x:Y\" : z\n"
        "empty: ,, b,\n"
        "crlf: one,\r\n"
        " two\r\n"
        "utf8: jos\xc3\xa9\n";
    CHECK(parse(text) == 0, "every form parses (%s)", errs);
    CHECK(count("staff") == 5 && target_is("staff", 2, ALIAS_USER, "carol") &&
              target_is("staff", 4, ALIAS_USER, "erin"),
          "continuation lines, across a blank and a comment line, line breaks separate");
    CHECK(aliases_find(&al, "staff")->lineno == 1, "entry line kept");
    CHECK(target_is("list", 0, ALIAS_PIPE, "/usr/bin/prog arg, with comma"), "quoted pipe keeps its comma");
    CHECK(target_is("list", 1, ALIAS_USER, "a b"), "quoted user with a blank");
    CHECK(target_is("logger", 0, ALIAS_PIPE, "/usr/bin/logger -t mail"), "unquoted pipe with arguments, trimmed");
    CHECK(target_is("logger", 1, ALIAS_ADDRESS, "ops@Example.COM"), "address kept as written");
    CHECK(target_is("inc", 0, ALIAS_INCLUDE, "/etc/mail/list") && target_is("inc", 1, ALIAS_INCLUDE, "/etc/other") &&
              target_is("inc", 2, ALIAS_INCLUDE, "/etc/third"),
          ":include: with or without a blank, in any case");
    CHECK(target_is("files", 0, ALIAS_FILE, "/var/mail/archive") && !target("files", 0)->maildir, "mbox file");
    CHECK(target_is("files", 1, ALIAS_FILE, "/home/a/Maildir/") && target("files", 1)->maildir, "Maildir");
    CHECK(target_is("files", 2, ALIAS_FILE, "/srv/with space"), "quoted path with a blank");
    CHECK(target_is("a b", 0, ALIAS_USER, "alice") && target("a b", 0)->noalias, "quoted name; \\user lowercased");
    CHECK(!target("staff", 0)->noalias, "a bare user may be aliased");
    CHECK(target_is("A B", 1, ALIAS_USER, "quoted \"x\" \\ \\n"), "escapes in quotes");
    CHECK(target_is("x:y", 0, ALIAS_USER, "z"), "quoted name with ':' and a blank before the colon");
    CHECK(count("empty") == 1 && target_is("empty", 0, ALIAS_USER, "b"), "empty targets skipped");
    CHECK(count("crlf") == 2 && target_is("crlf", 1, ALIAS_USER, "two"), "CRLF line ends");
    CHECK(target_is("utf8", 0, ALIAS_USER, "jos\xc3\xa9"), "UTF-8 kept");
    CHECK(al.n == 10, "10 entries");
    int sorted = 1;
    for (size_t i = 1; i < al.n; i++)
        sorted &= strcmp(al.v[i - 1].name, al.v[i].name) < 0;
    CHECK(sorted, "entries sorted by name");
    CHECK(parse("") == 0 && al.n == 0 && al.v == NULL, "empty file");
    CHECK(parse("# only\n\n   \n") == 0 && al.n == 0, "comments only");
    CHECK(parse("a: b") == 0 && al.n == 1, "no newline at the end");
}

struct bad {
    const char *text;
    const char *err;
};

static void test_errors(void)
{
    static const struct bad bad[] = {
        { "ok: x\nnocolon\n", "aliases:2: no ':' after the name\n" },
        { ": x\n", "aliases:1: empty name\n" },
        { "\"\": x\n", "aliases:1: empty name\n" },
        { "a b: c\n", "aliases:1: the name 'a b' holds a blank, '\"', '@' or ',': quote it\n" },
        { "a@b: c\n", "aliases:1: the name 'a@b' holds" },
        { "a\"b: c\n", "aliases:1: the name 'a\"b' holds" },
        { "\"ab\" x: c\n", "aliases:1: no ':' after the name\n" },
        { "\"ab: c\n", "aliases:1: unterminated quote\n" },
        { "x:\n", "aliases:1: 'x' has no targets\n" },
        { "x: ,,\n", "aliases:1: 'x' has no targets\n" },
        { "  a\nx: b\n", "aliases:1: continuation line with no entry before it\n" },
        { "x: a\x01\n", "aliases:1: control character 0x01\n" },
        { "x: a\n  b\x7f\n", "aliases:2: control character 0x7f\n" },
        { "# \x1b[31m\n", "aliases:1: control character 0x1b\n" },
        { "x: a\r\n", NULL },
        { "x: a\rb\n", "aliases:1: control character 0x0d\n" },
        { "x: \"|prog\n", "aliases:1: unterminated quote\n" },
        { "x: \"|prog\" arg\n", "aliases:1: text after the quoted target\n" },
        { "x: |prog \"arg\"\n", "aliases:1: '\"' inside a target: quote the whole target\n" },
        { "x: a b\n", "aliases:1: blank inside a target: quote it\n" },
        { "x: /a b\n", "aliases:1: blank inside a target: quote it\n" },
        { "x: a@b c\n", "aliases:1: blank inside a target: quote it\n" },
        { "x: :include:/a b\n", "aliases:1: blank inside a target: quote it\n" },
        { "x: \"\"\n", "aliases:1: empty quoted target\n" },
        { "x: |\n", "aliases:1: '|' with no command\n" },
        { "x: \"|  \"\n", "aliases:1: '|' with no command\n" },
        { "x: :include:\n", "aliases:1: :include: with no file\n" },
        { "x: :include:etc/list\n", "aliases:1: :include: needs an absolute path\n" },
        { "x: @example.com\n", "aliases:1: address with no local part\n" },
        { "x: bob@\n", "aliases:1: address with no domain\n" },
        { "x: a@b@c\n", "aliases:1: address with more than one '@'\n" },
        { "x: @@c\n", "aliases:1: address with no local part\n" },
        { "x: \\\n", "aliases:1: '\\' with no user name\n" },
        { "x: \\bob@example.com\n", "aliases:1: '\\' goes before a local user name only\n" },
        { "x: :includ:/a\n", "aliases:1: ':' in the user name ':includ:/a': quote it\n" },
        { "root: a\nRoot: b\n", "aliases:2: 'root' given again (first at line 1)\n" },
        { "a: x\nb: y\n\"A\": z\n", "aliases:3: 'a' given again (first at line 1)\n" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i].text);
        if (!bad[i].err) {
            CHECK(rc == 0, "error table %zu parses (%s)", i, errs);
            continue;
        }
        CHECK(rc == -1 && al.n == 0 && al.v == NULL, "error table %zu refused, nothing out", i);
        CHECK_HAS(errs, bad[i].err, "error table %zu: its message", i);
    }

    char name[80];
    memset(name, 'n', 64);
    snprintf(name + 64, sizeof name - 64, ": x\n");
    CHECK(parse(name) == 0 && al.n == 1, "a name of 64 octets");
    name[64] = 'n';
    snprintf(name + 65, sizeof name - 65, ": x\n");
    CHECK(parse(name) == -1, "a name of 65 octets");
    CHECK_STR(errs, "aliases:1: name longer than 64 octets\n", "...says why");
    snprintf(name, sizeof name, "x: %065d\n", 0);
    CHECK(parse(name) == -1, "a user of 65 octets");
    CHECK_STR(errs, "aliases:1: user name longer than 64 octets\n", "...says why");
    snprintf(name, sizeof name, "x: %064d\n", 0);
    CHECK(parse(name) == 0, "a user of 64 octets");

    /* all bad lines, in order, and the good ones between them */
    CHECK(parse("a: b\nbad\nc: d e\n  f\ng:\nh: i\n  j k\n") == -1, "several errors");
    CHECK_STR(errs,
              "aliases:2: no ':' after the name\n"
              "aliases:3: blank inside a target: quote it\n"
              "aliases:5: 'g' has no targets\n"
              "aliases:7: blank inside a target: quote it\n",
              "every bad line, with its number");

    CHECK(parse("a b: c\n  d e\n  f\x01\nok: x\n") == -1, "a bad entry and its continuation lines");
    CHECK_STR(errs,
              "aliases:1: the name 'a b' holds a blank, '\"', '@' or ',': quote it\n"
              "aliases:3: control character 0x01\n",
              "its continuation lines are not read, only checked for control characters");

    char small[40];
    CHECK(aliases_parse("aliases", "bad\nbad\nbad\n", 12, &al, small, sizeof small) == -1, "errors in a small buffer");
    CHECK_STR(small, "aliases:1: no ':' after the name\n...\n", "whole lines, then ...");
    CHECK(aliases_parse("aliases", "bad\n", 4, &al, small, 10) == -1 && strlen(small) < 10, "a tiny buffer");
    CHECK_STR(small, "...\n", "...says only ...");
    CHECK(aliases_parse("aliases", "bad\n", 4, &al, NULL, 0) == -1 && al.n == 0, "no buffer at all");
    CHECK(aliases_parse(NULL, "bad\n", 4, &al, small, sizeof small) == -1, "no file name");
    CHECK_HAS(small, "aliases:1:", "...a default one");
}

static void test_bounds(void)
{
    size_t big = ALIASES_FILE_MAX + 1;
    char *text = malloc(big + 70000);

    for (size_t i = 0; i < big; i++)
        text[i] = i % 64 == 63 ? '\n' : '#';
    CHECK(parse_n(text, ALIASES_FILE_MAX) == 0, "a file of 1 MiB of comment lines (%s)", errs);
    memset(text, '\n', big);
    CHECK(parse_n(text, ALIASES_FILE_MAX) == 0, "a file of 1 MiB of blank lines");
    CHECK(parse_n(text, big) == -1, "a file over 1 MiB");
    CHECK_STR(errs, "aliases: larger than 1 MiB\n", "...says why, without a line");

    /* a line of 64 KiB; one octet more */
    size_t n = (size_t)snprintf(text, 16, "x: ");
    memset(text + n, 'a', ALIASES_LINE_MAX - n - 7);
    memcpy(text + ALIASES_LINE_MAX - 7, "@b.test\n", 8);
    CHECK(parse_n(text, ALIASES_LINE_MAX + 1) == 0, "an entry line of 64 KiB (%.60s)", errs);
    memcpy(text + ALIASES_LINE_MAX - 7, "@bc.test\n", 9);
    CHECK(parse_n(text, ALIASES_LINE_MAX + 2) == -1, "an entry line over 64 KiB");
    CHECK_STR(errs, "aliases:1: line longer than 64 KiB\n", "...says why");
    text[0] = '#';
    CHECK(parse_n(text, ALIASES_LINE_MAX + 2) == -1, "a comment line over 64 KiB");

    /* an entry of 64 KiB with its continuations; one octet more */
    n = (size_t)snprintf(text, 16, "x: a");
    while (n + 100 <= ALIASES_LINE_MAX) {
        memcpy(text + n, "\n  ", 3);
        memset(text + n + 3, 'b', 90);
        memcpy(text + n + 93, "@x.test", 7);
        n += 100;
    }
    while (n < ALIASES_LINE_MAX)
        text[n++] = 'c';
    text[n] = '\n';
    CHECK(parse_n(text, n + 1) == 0, "an entry of 64 KiB over many lines (%.60s)", errs);
    memcpy(text + n, "\n d\n", 4);
    CHECK(parse_n(text, n + 4) == -1, "an entry over 64 KiB");
    CHECK_HAS(errs, ": entry longer than 64 KiB\n", "...says why");

    /* 1000 targets; 1001 */
    n = (size_t)snprintf(text, 16, "x: ");
    for (int i = 0; i < ALIASES_TARGETS_MAX; i++)
        n += (size_t)snprintf(text + n, 16, "u%d,\n ", i);
    CHECK(parse_n(text, n) == 0 && count("x") == ALIASES_TARGETS_MAX, "1000 targets");
    n += (size_t)snprintf(text + n, 32, "one-more\n more\n");
    CHECK(parse_n(text, n) == -1, "1001 targets");
    CHECK_STR(errs, "aliases:1001: more than 1000 targets\n", "...said once, at its line");

    /* 10000 entries; 10001 */
    char *many = malloc(ALIASES_ENTRIES_MAX * 16 + 64);
    n = 0;
    for (int i = 0; i < ALIASES_ENTRIES_MAX; i++)
        n += (size_t)snprintf(many + n, 16, "a%d: b\n", i);
    CHECK(parse_n(many, n) == 0 && al.n == ALIASES_ENTRIES_MAX, "10000 entries");
    CHECK(aliases_find(&al, "a9999") && aliases_find(&al, "A0") && !aliases_find(&al, "a10000"),
          "lookups among them");
    n += (size_t)snprintf(many + n, 64, "extra: b\nmore: c\n");
    CHECK(parse_n(many, n) == -1, "10001 entries");
    CHECK_STR(errs, "aliases:10001: more than 10000 entries\n", "...said once");
    free(many);
    free(text);
}

static void test_find(void)
{
    CHECK(parse("Alice: a\nbob: b\n\"Carol Ann\": c\n") == 0, "names for lookups");
    CHECK(aliases_find(&al, "alice") && aliases_find(&al, "ALICE") && aliases_find(&al, "aLiCe"), "any case");
    CHECK(aliases_find(&al, "carol ann") && aliases_find(&al, "CAROL ANN"), "quoted name");
    CHECK(!aliases_find(&al, "alic") && !aliases_find(&al, "alicee") && !aliases_find(&al, ""), "no near misses");
    CHECK(aliases_find(NULL, "x") == NULL, "no aliases at all");
    struct aliases none = { 0 };
    CHECK(aliases_find(&none, "x") == NULL, "empty aliases");
}

static int stop_at_second(const struct alias_target *t, void *arg)
{
    int *calls = arg;
    (void)t;
    return ++*calls == 2 ? -1 : 0;
}

static void test_expand(void)
{
    CHECK(parse("alice: alice, bob\nstaff: carol, alice\nbob: \\bob, |/usr/bin/vacation bob\n") == 0,
          "self-references");
    CHECK(expand("staff") == 0, "expand staff");
    CHECK_STR(got, "user:carol user:alice user:bob pipe:/usr/bin/vacation bob",
              "alice: alice delivers to alice; \\bob to bob; depth first, in order");
    CHECK(expand("ALICE") == 0, "expand ALICE");
    CHECK_STR(got, "user:alice user:bob pipe:/usr/bin/vacation bob", "the top name names itself");

    CHECK(parse("a: b\nb: a\n") == 0, "a two-step loop parses");
    CHECK(expand("a") == -1, "...and is refused on expansion");
    CHECK_STR(experr, "alias loop: a -> b -> a", "...with its path");
    CHECK(parse("x: a\na: b\nb: c\nc: a\n") == 0, "a three-step loop");
    CHECK(expand("x") == -1, "...refused");
    CHECK_STR(experr, "alias loop: a -> b -> c -> a", "...with the loop's path");
    CHECK(parse("a: \\a, b\nb: a\n") == 0 && expand("b") == -1, "a loop through a name with \\self");

    CHECK(parse("staff: alice, bob, team, ops@example.com, |prog, /var/mail/x\n"
                "team: bob, carol, Alice, ops@example.com, \"|prog\", /var/mail/x, other, \\bob\n"
                "other: carol, team3\nteam3: /srv/mail/, carol\n") == 0,
          "dedupe setup parses (%s)", errs);
    CHECK(expand("staff") == 0, "expand with repeats");
    CHECK_STR(got,
              "user:alice user:bob user:carol address:ops@example.com pipe:prog file:/var/mail/x "
              "file:/srv/mail/(maildir)",
              "each final target once");

    CHECK(parse("list: bob, :include:/etc/mail/list, /var/spool/mbox\n") == 0, "an include");
    CHECK(expand("list") == 0, "expand it");
    CHECK_STR(got, "user:bob include:/etc/mail/list file:/var/spool/mbox", "the include is left to the caller");

    int calls = 0;
    CHECK(aliases_expand(&al, "list", stop_at_second, &calls, experr, sizeof experr) == -1 && calls == 2,
          "the callback stops the expansion");
    CHECK_STR(experr, "", "...err empty");
    CHECK(aliases_expand(&al, "nobody", stop_at_second, &(int){ 1 }, experr, sizeof experr) == -1,
          "...also for a name that is no alias");
    CHECK(expand("") == -1, "an empty name");
    got[0] = '\0';
    CHECK(aliases_expand(NULL, "Postmaster", collect, NULL, experr, sizeof experr) == 0, "no aliases at all");
    CHECK_STR(got, "user:postmaster", "...the user");
}

/* A chain of n aliases a1 -> a2 -> ... -> an -> user. */
static int chain(int n)
{
    char text[2048];
    size_t len = 0;
    for (int i = 1; i < n; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "a%d: a%d\n", i, i + 1);
    snprintf(text + len, sizeof text - len, "a%d: user\n", n);
    return parse(text);
}

static void test_limits(void)
{
    CHECK(chain(ALIASES_DEPTH_MAX) == 0 && expand("a1") == 0, "16 aliases deep");
    CHECK_STR(got, "user:user", "...expand");
    CHECK(chain(ALIASES_DEPTH_MAX + 1) == 0 && expand("a1") == -1, "17 aliases deep: refused");
    CHECK_HAS(experr, "aliases nested deeper than 16: a1 -> a2 -> ", "...says why");
    CHECK_HAS(experr, "a16 -> a17", "...and where");
    CHECK(expand("a2") == 0, "16 from the second");

    /* 1000 results; 1001 */
    char *text = malloc(ALIASES_RESULTS_MAX * 16 + 64);
    size_t n = (size_t)snprintf(text, 16, "x: y, ");
    for (int i = 0; i < ALIASES_RESULTS_MAX - 1; i++)
        n += (size_t)snprintf(text + n, 16, "u%d, ", i);
    n += (size_t)snprintf(text + n, 32, "\ny: u0, u1, z\n");
    CHECK(parse_n(text, n) == 0, "1000 results setup (%s)", errs);
    CHECK(expand("x") == 0, "1000 results");
    CHECK(expand("y") == 0, "another");
    n -= 1;
    n += (size_t)snprintf(text + n, 16, ", w\n");
    CHECK(parse_n(text, n) == 0 && expand("x") == -1, "1001 results: refused");
    CHECK_STR(experr, "more than 1000 targets", "...says why");
    free(text);

    /* every alias names the next ten times, 16 deep: done once each */
    text = malloc(20 * 16 * 12);
    n = 0;
    for (int i = 1; i <= 16; i++) {
        n += (size_t)snprintf(text + n, 20, "a%d:", i);
        for (int j = 0; j < 10; j++)
            n += (size_t)snprintf(text + n, 20, " a%d,", i + 1);
        n += (size_t)snprintf(text + n, 20, " u%d\n", i);
    }
    n += (size_t)snprintf(text + n, 20, "a17: end\n");
    CHECK(parse_n(text, n) == 0, "a fan-out of 10, 16 deep");
    CHECK(expand("a2") == 0 && strncmp(got, "user:end user:u16 ", 18) == 0, "...expands at once (%.40s)", got);
    free(text);
}

static void test_targets_file(void)
{
    static const char list[] =
        "# members of the list\n"
        "alice, bob\n"
        "  carol@example.com\n"
        "\n"
        "\"|/usr/bin/archive --list, x\", /var/mail/list/\n"
        ":include:/etc/mail/more\r\n";
    struct alias_target *t;
    size_t n;
    char e[512];

    char *copy = malloc(sizeof list - 1);
    memcpy(copy, list, sizeof list - 1);
    CHECK(aliases_parse_targets("list", copy, sizeof list - 1, &t, &n, e, sizeof e) == 0 && n == 6,
          "an include file: 6 targets (%s)", e);
    free(copy);
    CHECK(n == 6 && t[0].kind == ALIAS_USER && strcmp(t[1].value, "bob") == 0 && t[2].kind == ALIAS_ADDRESS &&
              t[3].kind == ALIAS_PIPE && strcmp(t[3].value, "/usr/bin/archive --list, x") == 0 &&
              t[4].kind == ALIAS_FILE && t[4].maildir && t[5].kind == ALIAS_INCLUDE &&
              strcmp(t[5].value, "/etc/mail/more") == 0,
          "commas and line breaks separate; every kind");
    alias_targets_free(t, n);

    CHECK(aliases_parse_targets("list", "", 0, &t, &n, e, sizeof e) == 0 && n == 0 && t == NULL, "empty file");
    CHECK(aliases_parse_targets("list", "# x\n\n", 5, &t, &n, e, sizeof e) == 0 && n == 0, "comments only");
    const char *bad = "a b\nc\n\"d\n\x01\n";
    CHECK(aliases_parse_targets("list", bad, strlen(bad), &t, &n, e, sizeof e) == -1 && n == 0 &&
              t == NULL,
          "bad lines refused");
    CHECK_STR(e,
              "list:1: blank inside a target: quote it\n"
              "list:3: unterminated quote\n"
              "list:4: control character 0x01\n",
              "...each with its line");

    char *text = malloc(ALIASES_TARGETS_MAX * 8 + 64);
    size_t len = 0;
    for (int i = 0; i < ALIASES_TARGETS_MAX; i++)
        len += (size_t)snprintf(text + len, 16, "u%d\n", i);
    CHECK(aliases_parse_targets("list", text, len, &t, &n, e, sizeof e) == 0 && n == ALIASES_TARGETS_MAX,
          "1000 targets");
    alias_targets_free(t, n);
    len += (size_t)snprintf(text + len, 32, "more\nand more\n");
    CHECK(aliases_parse_targets("list", text, len, &t, &n, e, sizeof e) == -1, "1001 targets");
    CHECK_STR(e, "list:1001: more than 1000 targets\n", "...said once");
    free(text);
    CHECK(aliases_parse_targets("list", "x", ALIASES_FILE_MAX + 1, &t, &n, e, sizeof e) == -1, "over 1 MiB");
    CHECK_STR(e, "list: larger than 1 MiB\n", "...says why");
}

static void test_read(void)
{
    char dir[] = "/tmp/test_mail_aliases.XXXXXX", path[PATH_MAX], e[PATH_MAX + 64];
    char *text;
    size_t len;
    FILE *f;

    CHECK(mkdtemp(dir) != NULL, "a temporary folder");
    snprintf(path, sizeof path, "%s/aliases", dir);
    f = fopen(path, "w");
    fputs(debian, f);
    fclose(f);
    CHECK(aliases_read(path, &text, &len, e, sizeof e) == 0 && len == sizeof debian - 1 &&
              memcmp(text, debian, len) == 0 && text[len] == '\0',
          "reads a file whole");
    aliases_free(&al);
    CHECK(aliases_parse(path, text, len, &al, errs, sizeof errs) == 0 && al.n == 13, "...which parses");
    free(text);

    CHECK(aliases_read(dir, &text, &len, e, sizeof e) == -1 && text == NULL, "a folder refused");
    CHECK_HAS(e, "not a regular file", "...says why");
    CHECK(truncate(path, ALIASES_FILE_MAX) == 0 && aliases_read(path, &text, &len, e, sizeof e) == 0 &&
              len == ALIASES_FILE_MAX,
          "a file of 1 MiB");
    free(text);
    CHECK(truncate(path, ALIASES_FILE_MAX + 1) == 0 && aliases_read(path, &text, &len, e, sizeof e) == -1,
          "a file over 1 MiB refused");
    CHECK_HAS(e, "larger than 1 MiB", "...says why");
    unlink(path);
    CHECK(aliases_read(path, &text, &len, e, sizeof e) == -1, "a missing file");
    CHECK_HAS(e, "No such file", "...says why");
    CHECK(strncmp(e, path, strlen(path)) == 0, "...naming the file");
    rmdir(dir);
}

static void test_names(void)
{
    CHECK_STR(alias_kind_name(ALIAS_USER), "user", "kind names");
    CHECK_STR(alias_kind_name(ALIAS_INCLUDE), "include", "kind names");
    CHECK_STR(alias_kind_name((enum alias_kind)99), "?", "unknown kind");
}

int main(void)
{
    test_default_files();
    test_forms();
    test_errors();
    test_bounds();
    test_find();
    test_expand();
    test_limits();
    test_targets_file();
    test_read();
    test_names();
    aliases_free(&al);
    return unit_done();
}
