/*
 * Unit test of common/http.c: request heads (RFC 9112 2-7 with the
 * field rules of RFC 9110) good, incomplete and hostile, the limits, the
 * header-derived fields (Host, Connection, Content-Length,
 * Transfer-Encoding, Expect), and the chunked decoder (RFC 9112 7.1) fed
 * whole, byte by byte and in random pieces.  The web server's sources are
 * not in galecore, so http.c is compiled into this test.  TAP output;
 * exits non-zero when a check fails.
 */
#include "../../common/http.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static const struct http_limits lim = {
    .max_request_line = 256, .max_header_bytes = 1024, .max_headers = 8,
};
static struct http_request req;

static int parse_with(const char *s, const struct http_limits *l)
{
    return http_parse_request(s, strlen(s), l, &req);
}

static int parse(const char *s)
{
    return parse_with(s, &lim);
}

static int str_is(struct http_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

/* A request that must parse completely, with a head of the whole text. */
static int good(const char *s, const char *what)
{
    int r = parse(s);
    if (!CHECK(r == (int)strlen(s), "%s: parses (%d)", what, r))
        return 0;
    return 1;
}

static void bad(const char *s, int want, const char *what)
{
    int r = parse(s);
    CHECK(r == want, "%s: %d (got %d)", what, want, r);
}

static void test_request_line(void)
{
    good("GET /index.html?x=1&y HTTP/1.1\r\nHost: example.org\r\n\r\n", "simple GET");
    CHECK(req.method == HTTP_GET && str_is(req.method_text, "GET"), "method GET");
    CHECK(str_is(req.target, "/index.html?x=1&y"), "target as sent");
    CHECK(str_is(req.path, "/index.html"), "path up to '?'");
    CHECK(str_is(req.query, "x=1&y"), "query after '?'");
    CHECK(req.version_minor == 1, "HTTP/1.1");
    CHECK(req.n_headers == 1 && str_is(req.headers[0].name, "Host"), "one header");
    CHECK(str_is(req.host, "example.org") && req.has_host, "host");

    good("HEAD / HTTP/1.0\r\n\r\n", "HTTP/1.0 without Host");
    CHECK(req.method == HTTP_HEAD && req.version_minor == 0 && !req.has_host && req.host.len == 0,
          "HEAD, 1.0, no host");
    CHECK(req.query.len == 0 && str_is(req.path, "/"), "no query");

    static const struct { const char *name; enum http_method m; } methods[] = {
        { "POST", HTTP_POST }, { "PUT", HTTP_PUT }, { "DELETE", HTTP_DELETE },
        { "PATCH", HTTP_PATCH }, { "TRACE", HTTP_TRACE }, { "CONNECT", HTTP_CONNECT },
        { "OPTIONS", HTTP_OPTIONS }, { "get", HTTP_OTHER }, { "PROPFIND", HTTP_OTHER },
        { "M-SEARCH", HTTP_OTHER }, { "GETX", HTTP_OTHER },
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s /x HTTP/1.0\r\n\r\n", methods[i].name);
        CHECK(parse(buf) > 0 && req.method == methods[i].m && str_is(req.method_text, methods[i].name),
              "method %s maps to %d", methods[i].name, (int)methods[i].m);
    }

    good("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "asterisk-form for OPTIONS");
    CHECK(str_is(req.target, "*") && req.method == HTTP_OPTIONS, "target '*'");
    bad("GET * HTTP/1.1\r\nHost: a\r\n\r\n", -400, "asterisk-form for GET");

    good("GET http://Example.org:8080/a/b?q HTTP/1.1\r\nHost: other\r\n\r\n", "absolute-form");
    CHECK(str_is(req.path, "http://Example.org:8080/a/b") && str_is(req.query, "q"),
          "absolute-form path and query");
    CHECK(str_is(req.host, "Example.org:8080"), "absolute-form authority overrides Host");
    good("GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n", "absolute-form https, no path");
    CHECK(str_is(req.host, "h") && str_is(req.path, "HTTPS://h"), "host h");
    bad("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", -400, "absolute-form without host");
    bad("GET http://u@h/x HTTP/1.1\r\nHost: h\r\n\r\n", -400, "absolute-form with userinfo");
    bad("GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n", -400, "other scheme");
    bad("CONNECT example.org:443 HTTP/1.1\r\nHost: h\r\n\r\n", -400, "authority-form");
    bad("GET x HTTP/1.1\r\nHost: h\r\n\r\n", -400, "relative target");

    good("GET /x HTTP/1.2\r\nHost: h\r\n\r\n", "HTTP/1.2 read as 1.1");
    CHECK(req.version_minor == 1, "minor 1");
    bad("GET /x HTTP/2.0\r\n\r\n", -505, "HTTP/2.0");
    bad("GET /x HTTP/0.9\r\n\r\n", -505, "HTTP/0.9");
    bad("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", -505, "HTTP/2 preface");
    bad("GET /x HTTP/1\r\n\r\n", -400, "HTTP/1");
    bad("GET /x HTTP/1.10\r\n\r\n", -400, "HTTP/1.10");
    bad("GET /x http/1.1\r\n\r\n", -400, "lower-case version");
    bad("GET /x HTTP/1.1 \r\nHost: h\r\n\r\n", -400, "space after version");
    bad("GET /x\r\n\r\n", -400, "HTTP/0.9 simple request");
    bad("GET  /x HTTP/1.1\r\nHost: h\r\n\r\n", -400, "two spaces after method");
    bad("GET /x  HTTP/1.1\r\nHost: h\r\n\r\n", -400, "two spaces after target");
    bad("GET\t/x HTTP/1.1\r\nHost: h\r\n\r\n", -400, "tab after method");
    bad(" GET /x HTTP/1.1\r\nHost: h\r\n\r\n", -400, "leading space");
    bad("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", -400, "space in target");
    bad("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", -400, "tab in target");
    bad("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", -400, "DEL in target");
    bad("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", -400, "control in target");
    bad("GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n", -400, "CR in target");
    bad("GET /x HTTP/1.1\r\r\nHost: h\r\n\r\n", -400, "CR CR LF");
    bad("G(T /x HTTP/1.1\r\nHost: h\r\n\r\n", -400, "non-token method");
    bad("\r\n\rGET /x HTTP/1.1\r\nHost: h\r\n\r\n", -400, "lone CR before request line");
    good("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", "raw UTF-8 in target passes");

    good("\r\n\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n", "empty lines before the request line");
    CHECK(str_is(req.path, "/x"), "path after empty lines");
    good("GET /x HTTP/1.1\nHost: h\n\n", "bare LF line ends");
    CHECK(str_is(req.host, "h") && str_is(req.headers[0].value, "h"), "bare LF: host");
    good("GET /x HTTP/1.1\r\nHost: h\n\r\n", "mixed line ends");
}

static void test_incomplete(void)
{
    static const char full[] =
        "\r\nPOST /upload?a=b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
    size_t n = strlen(full);
    int all_zero = 1;
    for (size_t i = 0; i < n; i++)
        if (http_parse_request(full, i, &lim, &req) != 0)
            all_zero = 0;
    CHECK(all_zero, "every proper prefix of a request needs more");
    CHECK(http_parse_request(full, n, &lim, &req) == (int)n, "the whole request parses");
    CHECK(req.has_length && req.content_length == 5 && req.method == HTTP_POST, "POST with a length");

    char pipelined[256];
    snprintf(pipelined, sizeof pipelined, "%sHELLOGET / HTTP/1.1\r\n", full);
    CHECK(parse(pipelined) == (int)n, "bytes after the head are not counted");
    CHECK(http_parse_request("", 0, &lim, &req) == 0, "nothing yet");
    CHECK(parse("\r\n\r\n\r") == 0, "only empty lines so far");
    CHECK(parse("\x16\x03\x01\x02") == -400, "TLS hello refused before its line ends");
    CHECK(parse("GET /x HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n") == 0, "headers not ended yet");
    CHECK(parse("GE") == 0 && parse("GET /x HTTP/1.1\r") == 0, "partial request line");
}

static void test_limits(void)
{
    char buf[2048];
    struct http_limits small = { .max_request_line = 20, .max_header_bytes = 60, .max_headers = 2 };

    CHECK(parse_with("GET /123456789012 HTTP/1.0\r\n\r\n", &small) == -414,
          "request line of 27 > 20: 414");
    CHECK(parse_with("GET /1234567 HTTP/1.0\r\n\r\n", &small) == -414, "21 bytes: 414");
    CHECK(parse_with("GET /123456 HTTP/1.0\r\n\r\n", &small) > 0, "exactly 20 bytes: fine");
    CHECK(parse_with("GET /123456789012345678", &small) == -414, "incomplete but too long: 414");
    CHECK(parse_with("GET /123456789012345", &small) == 0, "incomplete, 20 bytes: wait");
    CHECK(parse_with("GET /123456 HTTP/1.0\r", &small) == 0, "20 bytes and a CR: wait");

    CHECK(parse_with("GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\n\r\n", &small) > 0, "two headers");
    CHECK(parse_with("GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &small) == -431,
          "three headers: 431");
    CHECK(parse_with("GET / HTTP/1.0\r\nA: 01234567890123456789012345678901234567890\r\n", &small) == -431,
          "incomplete header section past the limit: 431");
    snprintf(buf, sizeof buf, "GET / HTTP/1.0\r\nA: %-37s\r\n\r\n", "x");   /* 60 bytes */
    CHECK(strlen(buf) == 60 && parse_with(buf, &small) == 60, "head of exactly the limit");
    snprintf(buf, sizeof buf, "GET / HTTP/1.0\r\nA: %-38s\r\n\r\n", "x");   /* 61 bytes */
    CHECK(parse_with(buf, &small) == -431, "head one byte over");
    memset(buf, '\n', 100);
    buf[100] = '\0';
    CHECK(parse_with(buf, &small) == -431, "endless empty lines: 431");

    struct http_limits many = { .max_request_line = 100, .max_header_bytes = 100000,
                                .max_headers = 1000 };
    size_t o = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.0\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "X%d:\r\n", i);
    snprintf(buf + o, sizeof buf - o, "\r\n");
    CHECK(parse_with(buf, &many) == -431, "max_headers above HTTP_MAX_HEADERS is capped");
}

static void test_fields(void)
{
    good("GET / HTTP/1.1\r\nHost:h\r\nX-Empty:\r\nX-Pad: \t a  b \t\r\n\r\n", "OWS trimmed");
    CHECK(str_is(req.headers[0].value, "h"), "no OWS");
    CHECK(req.headers[1].value.len == 0, "empty value");
    CHECK(str_is(req.headers[2].value, "a  b"), "inner whitespace kept");
    const struct http_str *v = http_header_get(&req, "x-pad");
    CHECK(v && str_is(*v, "a  b"), "http_header_get ignores case");
    CHECK(http_header_get(&req, "X-Missing") == NULL, "absent header: NULL");
    CHECK(http_header_get(&req, "X-Pa") == NULL, "no prefix match");
    good("GET / HTTP/1.1\r\nHost: h\r\nX-Obs: caf\xc3\xa9\r\n\r\n", "obs-text in a value");

    bad("GET / HTTP/1.1\r\nHost : h\r\n\r\n", -400, "space before colon");
    bad("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", -400, "tab before colon");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", -400, "obs-fold");
    bad("GET / HTTP/1.1\r\n\tHost: h\r\n\r\n", -400, "first field starts with a tab");
    bad("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", -400, "empty name");
    bad("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", -400, "no colon");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX(: v\r\n\r\n", -400, "non-token name");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", -400, "CR inside a value");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\r\n\r\n", -400, "CR CR LF after a value");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", -400, "DEL in a value");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n", -400, "control in a value");
    bad("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n", -400, "CR CR LF as the empty line");

    static const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
    CHECK(http_parse_request(nul, sizeof nul - 1, &lim, &req) == -400, "NUL in a value");
    static const char nul2[] = "GET / HTTP/1.1\r\nHo\0st: h\r\n\r\n";
    CHECK(http_parse_request(nul2, sizeof nul2 - 1, &lim, &req) == -400, "NUL in a name");
    static const char nul3[] = "GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n";
    CHECK(http_parse_request(nul3, sizeof nul3 - 1, &lim, &req) == -400, "NUL in the target");
}

static void test_host(void)
{
    bad("GET / HTTP/1.1\r\n\r\n", -400, "HTTP/1.1 without Host");
    bad("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", -400, "two Host fields");
    bad("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", -400, "two Host fields, 1.0");
    good("GET / HTTP/1.1\r\nHOST: [::1]:8080\r\n\r\n", "IPv6 literal host");
    CHECK(str_is(req.host, "[::1]:8080"), "host [::1]:8080");
    good("GET / HTTP/1.1\r\nHost:\r\n\r\n", "empty Host allowed");
    CHECK(req.has_host && req.host.len == 0, "has_host with an empty value");
    bad("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", -400, "slash in Host");
    bad("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", -400, "userinfo in Host");
    bad("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", -400, "space in Host");
}

static void test_connection(void)
{
    static const struct { const char *head; int ka; } cases[] = {
        { "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 0 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: CLOSE\r\n\r\n", 0 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, close\r\n\r\n", 0 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n\r\n", 1 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n", 1 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: ,,close,\r\n\r\n", 0 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: x\r\nConnection: close\r\n\r\n", 0 },
        { "GET / HTTP/1.0\r\n\r\n", 0 },
        { "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1 },
        { "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1 },
        { "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0 },
        { "GET / HTTP/1.0\r\nConnection: foo\r\n\r\n", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int r = parse(cases[i].head);
        CHECK(r > 0 && req.keep_alive == cases[i].ka, "keep-alive case %zu is %d", i, cases[i].ka);
    }
}

static void test_body_framing(void)
{
    good("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", "length 0");
    CHECK(req.has_length && req.content_length == 0 && !req.chunked, "length 0 known");
    good("POST / HTTP/1.1\r\nHost: h\r\n\r\n", "no length");
    CHECK(!req.has_length && !req.chunked, "no body framing");
    good("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n", "2^64-1");
    CHECK(req.content_length == UINT64_MAX, "largest length");
    good("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42, 42,42\r\n\r\n", "identical list");
    CHECK(req.content_length == 42, "length 42");
    good("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nContent-Length: 007\r\n\r\n",
         "repeated identical");
    CHECK(req.content_length == 7, "length 7");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551616\r\n\r\n", -400,
        "length overflow");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", -400,
        "length far too big");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n", -400, "differing list");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -400,
        "differing repeated");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", -400, "negative length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", -400, "plus sign");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", -400, "hex length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 0\r\n\r\n", -400, "space in length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", -400, "empty length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5,\r\n\r\n", -400, "trailing comma");

    good("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked");
    CHECK(req.chunked && !req.has_length, "chunked set");
    good("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED \r\n\r\n", "CHUNKED");
    CHECK(req.chunked, "coding names ignore case");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", -501, "gzip alone");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", -501,
        "gzip then chunked");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        -501, "gzip, chunked over two fields");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", -501,
        "chunked not last");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", -400,
        "chunked twice");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", -400, "empty coding");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        -400, "chunked and a length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        -400, "a length and chunked");
    bad("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -400, "chunked in HTTP/1.0");

    good("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\r\n", "Expect");
    CHECK(req.expect_continue, "expect_continue set");
    good("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continuex\r\n\r\n", "other Expect");
    CHECK(!req.expect_continue, "expect_continue not set");
    good("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", "Expect from 1.0");
    CHECK(!req.expect_continue, "ignored for HTTP/1.0");

    CHECK(http_str_eq((struct http_str){ "Content-LENGTH", 14 }, "content-length"), "str_eq case");
    CHECK(!http_str_eq((struct http_str){ "Content", 7 }, "content-length"), "str_eq length");
    CHECK(http_str_eq((struct http_str){ "", 0 }, ""), "str_eq empty");
}

/* Decodes text fed in pieces whose sizes come from cuts (0: one byte at a
 * time; len or more: all at once; else random pieces of up to cuts bytes), with an output buffer of
 * room bytes at a time; returns the decoder's last result. */
static int decode_in_pieces(const char *in, size_t len, size_t cuts, size_t room, char *out,
                            size_t *out_len, size_t *used)
{
    struct http_chunked c = { 0 };
    size_t at = 0, o = 0;
    int r = 0;
    while (at < len) {
        size_t piece = cuts == 0 ? 1 : cuts >= len ? len : 1 + (size_t)rand() % cuts;
        if (piece > len - at)
            piece = len - at;
        size_t end = at + piece;
        while (at < end) {
            size_t got, made;
            r = http_chunked_decode(&c, in + at, end - at, &got, out + o, room, &made);
            at += got;
            o += made;
            if (r != 0 || (got == 0 && made == 0))
                break;
        }
        if (r != 0)
            break;
    }
    *out_len = o;
    *used = at;
    return r;
}

static void check_chunked(const char *in, const char *want, int want_r, const char *what)
{
    static char out[4096];
    size_t len = strlen(in), n, used;
    int r = decode_in_pieces(in, len, len, 4096, out, &n, &used);
    out[n] = '\0';
    int ok = CHECK(r == want_r, "%s: whole gives %d (got %d)", what, want_r, r);
    if (want_r == 1 && ok)
        CHECK(n == strlen(want) && memcmp(out, want, n) == 0, "%s: body", what);
    if (want_r == 1 || want_r == -1) {
        char one[4096];
        size_t n1, used1;
        int r1 = decode_in_pieces(in, len, 0, 1, one, &n1, &used1);
        CHECK(r1 == r && n1 == n && memcmp(one, out, n) == 0 && used1 == used,
              "%s: byte by byte, one output byte at a time, same result", what);
    }
}

static void test_chunked(void)
{
    check_chunked("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 1, "two chunks");
    check_chunked("0\r\n\r\n", "", 1, "empty body");
    check_chunked("A\r\n0123456789\r\n0\r\n\r\n", "0123456789", 1, "upper-case hex");
    check_chunked("a;name=val;x=\"q;r\"\r\n0123456789\r\n0;last\r\n\r\n", "0123456789", 1,
                  "extensions ignored");
    check_chunked("3 ;x\r\nabc\r\n0\r\n\r\n", "abc", 1, "whitespace before ';'");
    check_chunked("3\nabc\n0\n\n", "abc", 1, "bare LF everywhere");
    check_chunked("00003\r\nabc\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n", "abc", 1,
                  "leading zeros and trailers");
    check_chunked("1\r\n\n\r\n1\r\n\r\r\n0\r\n\r\n", "\n\r", 1, "CR and LF as data");
    check_chunked("3\r\nab", "", 0, "data not ended");
    check_chunked("3\r\nabc\r\n0\r\n", "", 0, "trailer not ended");

    check_chunked("\r\n", "", -1, "no size");
    check_chunked("x\r\n", "", -1, "not hex");
    check_chunked("-1\r\n", "", -1, "negative size");
    check_chunked(" 3\r\nabc\r\n0\r\n\r\n", "", -1, "space before size");
    check_chunked("3 4\r\nabc\r\n0\r\n\r\n", "", -1, "two numbers");
    check_chunked("3g\r\nabc\r\n0\r\n\r\n", "", -1, "junk after size");
    check_chunked("0x3\r\nabc\r\n0\r\n\r\n", "", -1, "0x prefix");
    check_chunked("3\r\nabcd\r\n0\r\n\r\n", "", -1, "data longer than its size");
    check_chunked("3\r\nabc0\r\n\r\n", "", -1, "no CRLF after data");
    check_chunked("3\r\nabc\rX", "", -1, "CR then not LF after data");
    check_chunked("3\rabc", "", -1, "CR then not LF on the size line");
    check_chunked("10000000000000000\r\n", "", -1, "17 hex digits overflow");
    check_chunked("3;a\x01\r\nabc\r\n0\r\n\r\n", "", -1, "control in an extension");
    check_chunked("0\r\nX: a\x01\r\n\r\n", "", -1, "control in a trailer");
    check_chunked("0\r\nX: a\rb\r\n\r\n", "", -1, "CR then not LF in a trailer");

    static const char nul[] = "3;\0\r\nabc\r\n0\r\n\r\n";
    struct http_chunked c = { 0 };
    char out[64];
    size_t used, made;
    CHECK(http_chunked_decode(&c, nul, sizeof nul - 1, &used, out, sizeof out, &made) == -1,
          "NUL in an extension");
    CHECK(http_chunked_decode(&c, "0\r\n\r\n", 5, &used, out, sizeof out, &made) == -1 &&
              used == 0, "the error sticks");

    memset(&c, 0, sizeof c);
    CHECK(http_chunked_decode(&c, "ffffffffffffffff\r\nab", 20, &used, out, sizeof out, &made) == 0 &&
              made == 2 && c.left == UINT64_MAX - 2, "16 hex digits: 2^64-1 is fine");

    static char longline[5000];
    memset(longline, 'x', sizeof longline);
    memcpy(longline, "1;", 2);
    memset(&c, 0, sizeof c);
    CHECK(http_chunked_decode(&c, longline, sizeof longline, &used, out, sizeof out, &made) == -1,
          "extension line over 4096 bytes");
    memset(&c, 0, sizeof c);
    http_chunked_decode(&c, "0\r\n", 3, &used, out, sizeof out, &made);
    memset(longline, 'x', 1000);
    longline[999] = '\n';
    int r = 0;
    for (int i = 0; i < 100 && r == 0; i++)
        r = http_chunked_decode(&c, longline, 1000, &used, out, sizeof out, &made);
    CHECK(r == -1, "endless trailer lines are cut off");

    memset(&c, 0, sizeof c);
    static const char pipelined[] = "2\r\nok\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    r = http_chunked_decode(&c, pipelined, sizeof pipelined - 1, &used, out, sizeof out, &made);
    CHECK(r == 1 && used == 12 && made == 2 && memcmp(out, "ok", 2) == 0,
          "stops at the end of the body");
    CHECK(http_chunked_decode(&c, "x", 1, &used, out, sizeof out, &made) == 1 && used == 0,
          "after the end: 1, nothing consumed");

    static const char five[] = "5\r\nhello\r\n0\r\n\r\n";
    memset(&c, 0, sizeof c);
    r = http_chunked_decode(&c, five, sizeof five - 1, &used, out, 3, &made);
    CHECK(r == 0 && used == 6 && made == 3, "output full: stops after 3 bytes");
    size_t at = used;
    r = http_chunked_decode(&c, five + at, sizeof five - 1 - at, &used, out, 0, &made);
    CHECK(r == 0 && used == 0 && made == 0, "no room: nothing consumed");
    r = http_chunked_decode(&c, five + at, sizeof five - 1 - at, &used, out, sizeof out, &made);
    CHECK(r == 1 && used == sizeof five - 1 - at && made == 2 && memcmp(out, "lo", 2) == 0,
          "then the rest with room");
}

/* Random bodies, encoded with random chunk sizes, extensions and line
 * ends, must decode to themselves whatever the pieces. */
static void test_chunked_random(void)
{
    static char body[3000], wire[12000], out[3000];
    int ok = 1;
    srand(42);
    for (int round = 0; round < 200 && ok; round++) {
        size_t blen = (size_t)rand() % sizeof body, w = 0;
        for (size_t i = 0; i < blen; i++)
            body[i] = (char)rand();
        for (size_t at = 0; at < blen;) {
            size_t n = 1 + (size_t)rand() % 300;
            if (n > blen - at)
                n = blen - at;
            w += (size_t)sprintf(wire + w, rand() % 2 ? "%zx" : "%zX;e=%d", n, rand());
            w += (size_t)sprintf(wire + w, rand() % 2 ? "\r\n" : "\n");
            memcpy(wire + w, body + at, n);
            w += n;
            w += (size_t)sprintf(wire + w, rand() % 2 ? "\r\n" : "\n");
            at += n;
        }
        w += (size_t)sprintf(wire + w, "0\r\nT: %d\r\n\r\n", rand());
        size_t n, used;
        size_t cuts = round % 3 == 0 ? 0 : 1 + (size_t)rand() % 64;
        size_t room = 1 + (size_t)rand() % 512;
        int r = decode_in_pieces(wire, w, cuts, room, out, &n, &used);
        ok = r == 1 && n == blen && memcmp(out, body, blen) == 0 && used == w;
    }
    CHECK(ok, "200 random bodies decode identically in random pieces");
}

int main(void)
{
    test_request_line();
    test_incomplete();
    test_limits();
    test_fields();
    test_host();
    test_connection();
    test_body_framing();
    test_chunked();
    test_chunked_random();
    return unit_done();
}
