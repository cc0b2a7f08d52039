/*
 * Unit test of servers/pycached/mcproto.c, the memcached text protocol's
 * command lines: framing ("\r\n" and "\n", the 2048-byte bound, a get's
 * longer key list, trickled input), tokenising as memcached 1.6 does,
 * every command's arguments, and the exact error line for each mistake
 * (checked against memcached 1.6.18).  TAP output; exits non-zero when a
 * check fails.
 */
#include "../../servers/pycached/mcproto.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static struct mc_request req;

static enum mc_status parse(const char *s)
{
    return mc_parse(s, strlen(s), &req);
}

static int str_is(struct mc_str t, const char *want)
{
    return t.len == strlen(want) && memcmp(t.p, want, t.len) == 0;
}

/* s must parse as cmd. */
static void good(const char *s, enum mc_cmd cmd)
{
    enum mc_status st = parse(s);
    CHECK(st == MC_OK && req.cmd == cmd, "'%s' parses as %s (status %d)", s, mc_cmd_name(cmd), st);
}

/* s must give the error line want. */
static void bad(const char *s, enum mc_status want)
{
    enum mc_status st = parse(s);
    CHECK(st == want, "'%.60s' gives \"%s\" (got \"%s\")", s, mc_status_text(want),
          st == MC_OK ? "OK" : mc_status_text(st));
}

static enum mc_frame frame(const char *s, size_t *line_len, size_t *total)
{
    size_t scanned = 0;
    return mc_frame(s, strlen(s), &scanned, line_len, total);
}

static char *repeat(char c, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        abort();
    memset(p, c, n);
    p[n] = '\0';
    return p;
}

static void test_frame(void)
{
    size_t len = 0, total = 0;
    CHECK(frame("get k\r\nget j\r\n", &len, &total) == MC_FRAME_LINE && len == 5 && total == 7,
          "CRLF line: 5 bytes, 7 with the newline");
    CHECK(frame("get k\nx", &len, &total) == MC_FRAME_LINE && len == 5 && total == 6,
          "LF line: 5 bytes, 6 with the newline");
    CHECK(frame("\r\n", &len, &total) == MC_FRAME_LINE && len == 0 && total == 2, "empty line");
    CHECK(frame("\n", &len, &total) == MC_FRAME_LINE && len == 0 && total == 1, "bare LF");
    CHECK(frame("get k\r\r\n", &len, &total) == MC_FRAME_LINE && len == 6, "only one CR is taken");
    CHECK(frame("get k", &len, &total) == MC_FRAME_MORE, "no newline yet: more");
    CHECK(frame("", &len, &total) == MC_FRAME_MORE, "nothing: more");

    char *l = repeat('x', MC_LINE_MAX);
    CHECK(frame(l, &len, &total) == MC_FRAME_MORE, "2048 bytes without newline: more");
    l[MC_LINE_MAX - 1] = '\n';
    CHECK(frame(l, &len, &total) == MC_FRAME_LINE && total == MC_LINE_MAX, "2048-byte line");
    free(l);
    l = repeat('x', MC_LINE_MAX + 1);
    CHECK(frame(l, &len, &total) == MC_FRAME_TOO_LONG, "2049 bytes without newline: too long");
    l[MC_LINE_MAX] = '\n';
    CHECK(frame(l, &len, &total) == MC_FRAME_LINE, "a newline at 2048 ends a line of 2048");
    free(l);
    l = repeat('x', MC_LINE_MAX + 10);
    l[MC_LINE_MAX + 5] = '\n';
    CHECK(frame(l, &len, &total) == MC_FRAME_TOO_LONG, "a 2053-byte set line: too long");
    free(l);
}

static void test_frame_keylist(void)
{
    static const char *const verbs[] = { "get ", "gets ", "gat ", "gats ", "   get " };
    size_t len = 0, total = 0;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        char *l = repeat('k', MC_KEYLIST_MAX);
        memcpy(l, verbs[i], strlen(verbs[i]));
        CHECK(frame(l, &len, &total) == MC_FRAME_MORE, "'%s' key list of 64 KiB: more", verbs[i]);
        l[MC_KEYLIST_MAX - 1] = '\n';
        CHECK(frame(l, &len, &total) == MC_FRAME_LINE && total == MC_KEYLIST_MAX,
              "'%s' line of 64 KiB", verbs[i]);
        free(l);
        l = repeat('k', MC_KEYLIST_MAX + 1);
        memcpy(l, verbs[i], strlen(verbs[i]));
        CHECK(frame(l, &len, &total) == MC_FRAME_TOO_LONG, "'%s' over 64 KiB: too long",
              verbs[i]);
        free(l);
    }
    char *l = repeat(' ', 3000);
    memcpy(l + 100, "get k", 5);
    CHECK(frame(l, &len, &total) == MC_FRAME_MORE, "100 spaces before get: a key list");
    memcpy(l + 100, " get ", 5);
    CHECK(frame(l, &len, &total) == MC_FRAME_TOO_LONG, "101 spaces before get: too long");
    free(l);
    l = repeat('k', 3000);
    memcpy(l, "getx ", 5);
    CHECK(frame(l, &len, &total) == MC_FRAME_TOO_LONG, "'getx' is no get: 2048 applies");
    memcpy(l, "set ", 4);
    CHECK(frame(l, &len, &total) == MC_FRAME_TOO_LONG, "'set' is no get: 2048 applies");
    free(l);
}

/* Fed one byte more at a time, the answer is the same as all at once. */
static void test_frame_trickle(void)
{
    const char *s = "  gets a b c\r\nset";
    size_t n = strlen(s), scanned = 0, len = 0, total = 0, prev = 0;
    int monotone = 1;
    enum mc_frame f = MC_FRAME_MORE;
    size_t i;
    for (i = 0; i <= n && f == MC_FRAME_MORE; i++) {
        f = mc_frame(s, i, &scanned, &len, &total);
        if (f == MC_FRAME_MORE && (scanned < prev || scanned != i))
            monotone = 0;
        prev = scanned;
    }
    CHECK(f == MC_FRAME_LINE && len == 12 && total == 14 && i == 15,
          "trickled: the line appears with its last byte");
    CHECK(monotone, "scanned follows the input");
    CHECK(scanned == 0, "scanned is reset for the next line");
}

static void test_tokens(void)
{
    good("get k", MC_GET);
    CHECK(str_is(req.key, "k") && str_is(req.keys, "k"), "one key");
    good("   get    a   b  ", MC_GET);
    CHECK(str_is(req.key, "a") && str_is(req.keys, "a   b  "), "spaces skipped, keys kept");
    bad("get\tk", MC_ERROR);         /* a tab is no separator: "get\tk" is the command */
    bad("GET k", MC_ERROR);
    bad("", MC_ERROR);
    bad("   ", MC_ERROR);
    bad("\r", MC_ERROR);
    bad("x", MC_ERROR);
    bad("bget k", MC_ERROR);
    bad("mg k v", MC_ERROR);         /* meta commands are not spoken */
    CHECK(mc_parse("get k\0junk", 10, &req) == MC_OK && str_is(req.keys, "k"),
          "a NUL ends the line, as memcached's C strings do");
    CHECK(mc_parse("\0get k", 6, &req) == MC_ERROR, "a NUL first: nothing");
}

static void test_get(void)
{
    bad("get", MC_ERROR);
    bad("get ", MC_ERROR);
    bad("gets", MC_ERROR);
    good("gets a b c", MC_GETS);
    struct mc_str keys = req.keys, key;
    int n = 0, ok = 1;
    static const char *const want[] = { "a", "b", "c" };
    while (mc_next_key(&keys, &key))
        ok &= n < 3 && str_is(key, want[n++]);
    CHECK(ok && n == 3, "mc_next_key gives a, b, c (%d)", n);
    CHECK(!mc_next_key(&keys, &key), "and then nothing");

    char line[600];
    char *k250 = repeat('k', 250), *k251 = repeat('k', 251);
    snprintf(line, sizeof line, "get %s", k250);
    good(line, MC_GET);
    CHECK(req.key.len == 250, "a 250-byte key");
    snprintf(line, sizeof line, "get a %s b", k251);
    bad(line, MC_BAD_FORMAT);
    free(k250);
    free(k251);
    good("get a b\x01", MC_GET);          /* control characters pass, as memcached */
    good("get \x10\x10\x7f", MC_GET);
    good("get caf\xc3\xa9", MC_GET);   /* bytes above 127 are fine */

    char many[1024] = "get";
    for (int i = 0; i < 60; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), " k%d", i);
    good(many, MC_GET);
    CHECK(req.keys.len == strlen(many) - 4, "60 keys, past memcached's 24 tokens");
}

static void test_gat(void)
{
    good("gat 100 a b", MC_GAT);
    CHECK(req.exptime == 100 && str_is(req.key, "a") && str_is(req.keys, "a b"), "gat fields");
    good("gats -1 k", MC_GATS);
    CHECK(req.exptime == -1, "negative exptime");
    good("gat 10", MC_GAT);
    CHECK(req.keys.len == 0 && req.key.len == 0, "gat without keys: an empty answer");
    bad("gat", MC_ERROR);
    bad("gat abc k", MC_BAD_EXPTIME);
    bad("gat 1x k", MC_BAD_EXPTIME);
    good("gat 10 k\x02", MC_GAT);
}

static void test_storage(void)
{
    good("set k 5 100 3", MC_SET);
    CHECK(str_is(req.key, "k") && req.flags == 5 && req.exptime == 100 && req.bytes == 3 &&
          !req.noreply, "set fields");
    good("add k 0 0 0 noreply", MC_ADD);
    CHECK(req.noreply && req.bytes == 0, "noreply, empty value");
    good("replace k 0 0 1", MC_REPLACE);
    good("append k 0 0 1", MC_APPEND);
    good("prepend k 0 0 1", MC_PREPEND);
    good("set k 0 0 1 extra", MC_SET);
    CHECK(!req.noreply, "a sixth token other than noreply is ignored");
    good("cas k 1 2 3 18446744073709551615 noreply", MC_CAS);
    CHECK(req.cas == UINT64_MAX && req.noreply, "cas unique and noreply");
    CHECK(mc_cmd_is_storage(req.cmd) && !mc_cmd_is_storage(MC_GET), "storage commands");

    bad("set k 0 0", MC_ERROR);
    bad("set k 0 0 1 noreply x", MC_ERROR);
    CHECK(!req.noreply, "no noreply when the token count is wrong");
    bad("cas k 0 0 1", MC_ERROR);
    bad("set k 0 0 abc noreply", MC_BAD_FORMAT);
    CHECK(req.noreply, "noreply is known even on a bad line (it silences the error)");
    bad("set k -1 0 1", MC_BAD_FORMAT);
    bad("set k 4294967296 0 1", MC_BAD_FORMAT);
    good("set k 4294967295 0 1", MC_SET);
    CHECK(req.flags == UINT32_MAX, "largest flags");
    bad("set k 0 0 -1", MC_BAD_FORMAT);
    bad("set k 0 0 2147483646", MC_BAD_FORMAT);
    good("set k 0 0 2147483645", MC_SET);
    good("set k 0 0 +1", MC_SET);
    CHECK(req.bytes == 1, "a plus sign, as strtol takes");
    bad("set k 0 x 1", MC_BAD_FORMAT);
    good("set k 0 -9223372036854775808 1", MC_SET);
    CHECK(req.exptime == INT64_MIN, "smallest exptime");
    bad("set k 0 9223372036854775808 1", MC_BAD_FORMAT);
    bad("cas k 0 0 1 -1", MC_BAD_FORMAT);
    bad("cas k 0 0 1 18446744073709551616", MC_BAD_FORMAT);
    good("set k\x1b 0 0 1", MC_SET);
    good("set k 0 0 1\r", MC_SET);   /* "\r\r\n": strtol's white space after the number */
    bad("set k 0 0 1x", MC_BAD_FORMAT);
    bad("set k 0 0 ", MC_ERROR);

    char line[600];
    char *k = repeat('k', 251);
    snprintf(line, sizeof line, "set %s 0 0 1", k);
    bad(line, MC_BAD_FORMAT);
    free(k);
}

static void test_delete(void)
{
    good("delete k", MC_DELETE);
    CHECK(str_is(req.key, "k") && !req.noreply, "delete fields");
    good("delete k 0", MC_DELETE);
    good("delete k noreply", MC_DELETE);
    CHECK(req.noreply, "delete noreply");
    good("delete k 0 noreply", MC_DELETE);
    CHECK(req.noreply, "delete 0 noreply");
    good("delete noreply", MC_DELETE);
    CHECK(str_is(req.key, "noreply") && !req.noreply, "'noreply' alone is a key");
    bad("delete k 5", MC_BAD_DELETE);
    bad("delete k 1 noreply", MC_BAD_DELETE);
    CHECK(req.noreply, "a hold time with noreply: the usage line is silenced");
    bad("delete k 0 x", MC_BAD_DELETE);
    bad("delete", MC_ERROR);
    bad("delete a b c d", MC_ERROR);
    good("delete k\x01", MC_DELETE);
}

static void test_arith_touch(void)
{
    good("incr k 5", MC_INCR);
    CHECK(req.delta == 5 && str_is(req.key, "k"), "incr fields");
    good("decr k 18446744073709551615 noreply", MC_DECR);
    CHECK(req.delta == UINT64_MAX && req.noreply, "largest delta, noreply");
    bad("incr k -1", MC_BAD_DELTA);
    bad("incr k 18446744073709551616", MC_BAD_DELTA);
    bad("incr k abc noreply", MC_BAD_DELTA);
    CHECK(req.noreply, "noreply on a bad delta");
    bad("incr k noreply", MC_BAD_DELTA);
    bad("incr k", MC_ERROR);
    bad("incr", MC_ERROR);
    bad("incr k 1 2 3", MC_ERROR);
    good("decr k\x01 1", MC_DECR);

    good("touch k 10", MC_TOUCH);
    CHECK(req.exptime == 10, "touch exptime");
    good("touch k -1 noreply", MC_TOUCH);
    CHECK(req.exptime == -1 && req.noreply, "touch noreply");
    bad("touch k abc", MC_BAD_EXPTIME);
    bad("touch k", MC_ERROR);
    bad("touch k 1 2 3", MC_ERROR);
}

static void test_misc(void)
{
    good("flush_all", MC_FLUSH_ALL);
    CHECK(!req.has_delay && !req.noreply, "flush_all now");
    good("flush_all noreply", MC_FLUSH_ALL);
    CHECK(!req.has_delay && req.noreply, "flush_all noreply");
    good("flush_all 10", MC_FLUSH_ALL);
    CHECK(req.has_delay && req.exptime == 10, "flush_all 10");
    good("flush_all 10 noreply", MC_FLUSH_ALL);
    CHECK(req.has_delay && req.exptime == 10 && req.noreply, "flush_all 10 noreply");
    good("flush_all -5", MC_FLUSH_ALL);
    good("flush_all 10 foo", MC_FLUSH_ALL);
    bad("flush_all abc", MC_BAD_EXPTIME);
    bad("flush_all noreply noreply", MC_BAD_EXPTIME);
    bad("flush_all 1 2 3", MC_ERROR);

    good("stats", MC_STATS);
    CHECK(req.group.len == 0, "general stats");
    good("stats detail dump", MC_STATS);
    CHECK(str_is(req.group, "detail") && str_is(req.arg, "dump"), "stats group and argument");
    good("version", MC_VERSION);
    good("version foo bar", MC_VERSION);
    good("quit", MC_QUIT);
    good("verbosity 1", MC_VERBOSITY);
    CHECK(req.verbosity == 1, "verbosity level");
    good("verbosity 5 6", MC_VERBOSITY);
    bad("verbosity", MC_ERROR);
    bad("verbosity x", MC_BAD_FORMAT);
    bad("verbosity noreply", MC_BAD_FORMAT);
    CHECK(req.noreply, "verbosity noreply: silenced");
    bad("verbosity 1 2 3", MC_ERROR);
}

static void test_texts(void)
{
    CHECK_STR(mc_status_text(MC_ERROR), "ERROR", "ERROR");
    CHECK_STR(mc_status_text(MC_BAD_FORMAT), "CLIENT_ERROR bad command line format", "format");
    CHECK_STR(mc_status_text(MC_BAD_EXPTIME), "CLIENT_ERROR invalid exptime argument", "exptime");
    CHECK_STR(mc_status_text(MC_BAD_DELTA), "CLIENT_ERROR invalid numeric delta argument",
              "delta");
    CHECK_STR(mc_status_text(MC_BAD_DELETE),
              "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]", "delete");
    CHECK(mc_status_text(MC_OK) == NULL, "no text for OK");
    CHECK_STR(mc_cmd_name(MC_FLUSH_ALL), "flush_all", "command names");
    CHECK_STR(mc_cmd_name(MC_UNKNOWN), "unknown", "unknown command name");
}

int main(void)
{
    test_frame();
    test_frame_keylist();
    test_frame_trickle();
    test_tokens();
    test_get();
    test_gat();
    test_storage();
    test_delete();
    test_arith_touch();
    test_misc();
    test_texts();
    return unit_done();
}
