/*
 * Unit test of servers/web/path.c: path_normalise() over good paths,
 * dot segments and every hostile form path.h names (encoded slashes and
 * backslashes, NUL, controls, overlong and otherwise invalid UTF-8,
 * climbing above the root), absolute-form targets and a too small out;
 * then path_url_encode() and path_html_escape(), truncation included.
 * The web server's sources are not in galecore, so path.c is compiled
 * into this test.  TAP output; exits non-zero when a check fails.
 */
#include "../../servers/web/path.c"

#include <stdio.h>
#include <string.h>

#include "unit.h"

static char out[256];
static int slash;

static int norm(const char *target)
{
    return path_normalise(target, strlen(target), out, sizeof out, &slash);
}

static void good(const char *target, const char *want, int want_slash)
{
    int r = norm(target);
    if (CHECK(r == 0, "'%s' is accepted (%d)", target, r)) {
        CHECK_STR(out, want, "'%s' normalises", target);
        CHECK(slash == want_slash, "'%s': dir_slash %d", target, want_slash);
    }
}

static void bad(const char *target, int want)
{
    int r = norm(target);
    CHECK(r == want, "'%s' is refused with %d (got %d)", target, want, r);
}

static void test_good(void)
{
    good("/", "", 1);
    good("/index.html", "index.html", 0);
    good("/a%20b/./c/", "a b/c", 1);
    good("/a/../b", "b", 0);
    good("/a/b/../../c", "c", 0);
    good("/a/b/..", "a", 0);
    good("/a/..", "", 0);
    good("/a/../", "", 1);
    good("//a///b//", "a/b", 1);
    good("/./././a", "a", 0);
    good("/a/.", "a", 0);
}

static void test_dots(void)
{
    good("/a/%2e%2e/b", "b", 0);
    good("/a/%2E/b", "a/b", 0);
    good("/a/.%2e/b", "b", 0);
    good("/...", "...", 0);
    good("/..a/a..", "..a/a..", 0);
    good("/.hidden", ".hidden", 0);
    good("/a?x=/../../etc", "a", 0);
    good("/a#frag/../..", "a", 0);
    good("/a/?q", "a", 1);
    good("/%3f%23%25", "?#%", 0);
    good("/caf%C3%A9/%e2%82%ac", "caf\xc3\xa9/\xe2\x82\xac", 0);
    good("/caf\xc3\xa9", "caf\xc3\xa9", 0);
    good("/%f0%9f%98%80", "\xf0\x9f\x98\x80", 0);
    good("/%ed%9f%bf", "\xed\x9f\xbf", 0);            /* U+D7FF, just below the surrogates */
    good("/%ee%80%80", "\xee\x80\x80", 0);            /* U+E000, just above */
    good("/%f4%8f%bf%bf", "\xf4\x8f\xbf\xbf", 0);     /* U+10FFFF */
    good("/%c2%80", "\xc2\x80", 0);                   /* smallest two-byte form */
    good("/%e0%a0%80", "\xe0\xa0\x80", 0);            /* smallest three-byte form */
    good("/%f0%90%80%80", "\xf0\x90\x80\x80", 0);     /* smallest four-byte form */
    good("/a:b;c=d,e+f@g$h!i'j(k)l*m", "a:b;c=d,e+f@g$h!i'j(k)l*m", 0);
}

static void test_absolute(void)
{
    good("http://example.org/a/b/", "a/b", 1);
    good("HTTP://example.org:8080/x?y", "x", 0);
    good("https://h/%41", "A", 0);
    good("http://example.org", "", 1);
    good("http://example.org?x", "", 1);
}

static void test_hostile(void)
{
    bad("", -400);
    bad("a/b", -400);
    bad("*", -400);
    bad("../etc/passwd", -400);
    bad("/..", -400);
    bad("/../", -400);
    bad("/../etc/passwd", -400);
    bad("/a/../../etc/passwd", -400);
    bad("/%2e%2e/etc/passwd", -400);
    bad("/%2E%2E/", -400);
    bad("/.%2e/x", -400);
    bad("/a/./../..", -400);
    bad("/a%2fb", -400);
    bad("/a%2Fb", -400);
    bad("/..%2f..%2fetc", -400);
    bad("/a\\b", -400);
    bad("/a%5cb", -400);
    bad("/a%5C..%5C..", -400);
    bad("/..\\..\\windows", -400);
    bad("/a%00", -400);
    bad("/a%00.html", -400);
    bad("/a%01", -400);
    bad("/a%1f", -400);
    bad("/a%7f", -400);
    bad("/a%0d%0aSet-Cookie:x", -400);
    bad("/a%09", -400);
    bad("/a\tb", -400);
    bad("/a\x7f", -400);
    bad("/a%", -400);
    bad("/a%2", -400);
    bad("/a%g0", -400);
    bad("/a%0g", -400);
    bad("/a%%32%65", -400);
    bad("/%c0%ae%c0%ae/x", -400);       /* overlong '.' */
    bad("/%c0%af", -400);               /* overlong '/' */
    bad("/%c1%bf", -400);
    bad("/%e0%80%ae", -400);            /* three-byte overlong '.' */
    bad("/%e0%9f%bf", -400);            /* three-byte overlong */
    bad("/%f0%80%80%ae", -400);         /* four-byte overlong */
    bad("/%f0%8f%bf%bf", -400);
    bad("/%ed%a0%80", -400);            /* U+D800, a surrogate */
    bad("/%ed%bf%bf", -400);            /* U+DFFF */
    bad("/%f4%90%80%80", -400);         /* U+110000 */
    bad("/%f5%80%80%80", -400);
    bad("/%ff", -400);
    bad("/%fe", -400);
    bad("/%80", -400);                  /* lone continuation byte */
    bad("/%c3", -400);                  /* truncated */
    bad("/%e2%82", -400);
    bad("/%f0%9f%98", -400);
    bad("/%c3/%a9", -400);              /* a sequence cut by '/' */
    bad("/%c3%28", -400);               /* bad continuation */
    bad("/%e2%28%a1", -400);
    bad("/\xc0\xae\xc0\xae/x", -400);   /* raw overlong too */
    bad("/\xed\xa0\x80", -400);
    bad("http://h/../x", -400);

    static const char nul[] = "/a\0b";
    CHECK(path_normalise(nul, sizeof nul - 1, out, sizeof out, &slash) == -400, "raw NUL");
    CHECK(path_normalise("/abc", 2, out, sizeof out, &slash) == 0 && strcmp(out, "a") == 0,
          "len is respected");
}

static void test_small_out(void)
{
    char small[4];
    CHECK(path_normalise("/abc", 4, small, sizeof small, &slash) == 0 &&
              strcmp(small, "abc") == 0, "exact fit");
    CHECK(path_normalise("/abcd", 5, small, sizeof small, &slash) == -414, "one byte too many");
    CHECK(path_normalise("/a/bc", 5, small, sizeof small, &slash) == -414, "separator counts");
    CHECK(path_normalise("/a/b", 4, small, sizeof small, &slash) == 0 &&
              strcmp(small, "a/b") == 0, "a/b fits");
    CHECK(path_normalise("/", 1, small, 1, &slash) == 0 && small[0] == '\0', "root in one byte");
    CHECK(path_normalise("/a", 2, small, 1, &slash) == -414, "nothing fits in one byte");
    CHECK(path_normalise("/", 1, small, 0, &slash) == -414, "no room at all");
    CHECK(path_normalise("/%41%42%43", 10, small, sizeof small, &slash) == 0 &&
              strcmp(small, "ABC") == 0, "decoded length counts, not encoded");
    CHECK(path_normalise("/a", 2, small, sizeof small, NULL) == 0, "dir_slash may be NULL");
}

static void test_encode(void)
{
    char buf[64];
    CHECK(path_url_encode("a b/c%d", buf, sizeof buf) == 11, "encoded length");
    CHECK_STR(buf, "a%20b/c%25d", "space and percent encoded");
    path_url_encode("AZaz09-._~/", buf, sizeof buf);
    CHECK_STR(buf, "AZaz09-._~/", "unreserved and '/' kept");
    path_url_encode("?#&+\"<'\xc3\xa9\x01", buf, sizeof buf);
    CHECK_STR(buf, "%3F%23%26%2B%22%3C%27%C3%A9%01", "the rest encoded");
    CHECK(path_url_encode("ab c", buf, 4) == 2 && strcmp(buf, "ab") == 0,
          "truncated before a cut escape");
    CHECK(path_url_encode("ab c", buf, 6) == 5 && strcmp(buf, "ab%20") == 0, "escape fits");
    CHECK(path_url_encode("abc", buf, 1) == 0 && buf[0] == '\0', "room for the NUL only");
    buf[0] = 'x';
    CHECK(path_url_encode("abc", buf, 0) == 0 && buf[0] == 'x', "outlen 0 writes nothing");
    CHECK(path_url_encode("", buf, sizeof buf) == 0 && buf[0] == '\0', "empty");

    CHECK(path_html_escape("<a href=\"x\">Tom & Jerry's</a>", buf, sizeof buf) ==
              strlen("&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"),
          "escaped length");
    CHECK_STR(buf, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;", "all five");
    path_html_escape("plain \xc3\xa9", buf, sizeof buf);
    CHECK_STR(buf, "plain \xc3\xa9", "other bytes kept");
    CHECK(path_html_escape("a&b", buf, 5) == 1 && strcmp(buf, "a") == 0,
          "an entity is never cut");
    CHECK(path_html_escape("a&b", buf, 7) == 6 && strcmp(buf, "a&amp;") == 0, "entity fits");
    CHECK(path_html_escape("abc", buf, 1) == 0 && buf[0] == '\0', "NUL only");
}

/* What url-encoding writes, normalising reads back. */
static void test_round_trip(void)
{
    static const char *names[] = {
        "a b", "100%", "caf\xc3\xa9/menu", "x?y#z", "..a", "&<>", "tab\xe2\x82\xac",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char enc[128], back[128];
        enc[0] = '/';
        path_url_encode(names[i], enc + 1, sizeof enc - 1);
        int r = path_normalise(enc, strlen(enc), back, sizeof back, &slash);
        CHECK(r == 0 && strcmp(back, names[i]) == 0, "'%s' round-trips", names[i]);
    }
}

int main(void)
{
    test_good();
    test_dots();
    test_absolute();
    test_hostile();
    test_small_out();
    test_encode();
    test_round_trip();
    return unit_done();
}
