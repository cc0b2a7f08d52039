/*
 * Unit test of servers/pycached/jsonval.c: the framer fed whole, byte by
 * byte and in every two-piece split (objects, strings with braces and
 * escaped quotes, bare words, whitespace, the size limit); the request
 * parser on good requests (exact spans for every JSON type) and on
 * every kind of malformed one (RFC 8259), with its messages; the string
 * decoder (escapes, surrogate pairs, UTF-8, room, in place) and the
 * string writer (escapes, U+FFFD, round trip).  TAP output.
 */
#include "../../servers/pycached/jsonval.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "unit.h"

#define FRAMES_MAX 16

/* The values framed in a stream, each "text" or "!TOO_LARGE", joined
 * with '|'; bytes fed in pieces of piece bytes (0: all at once). */
static const char *frames(const char *stream, size_t len, size_t piece, size_t max)
{
    static char got[4096];
    struct json_framer f = { 0 };
    size_t base = 0, fed = 0, pos = 0;
    got[0] = '\0';
    while (fed < len) {
        size_t n = piece && len - fed > piece ? piece : len - fed;
        enum json_frame_status st = json_frame(&f, stream + fed, n, max);
        if (st == JSON_FRAME_TOO_LARGE) {
            pos += (size_t)snprintf(got + pos, sizeof got - pos, "%s!TOO_LARGE", pos ? "|" : "");
            return got;
        }
        if (st == JSON_FRAME_MORE) {
            fed += n;
            continue;
        }
        const char *v = stream + base + f.skip;
        pos += (size_t)snprintf(got + pos, sizeof got - pos, "%s%.*s", pos ? "|" : "",
                                (int)f.len, v);
        base += f.skip + f.len;
        fed = base;        /* what followed the value is fed again */
        json_framer_reset(&f);
    }
    return got;
}

/* Frames the same whatever the pieces. */
static void frame_check(const char *stream, const char *want, const char *what)
{
    size_t len = strlen(stream);
    CHECK_STR(frames(stream, len, 0, 1000), want, "%s: whole", what);
    int same = 1;
    for (size_t piece = 1; piece <= len; piece++)
        if (strcmp(frames(stream, len, piece, 1000), want) != 0)
            same = 0;
    CHECK(same, "%s: in pieces of every size", what);
}

static void test_framer(void)
{
    frame_check("{\"command\": \"get\", \"key\": \"k\"}", "{\"command\": \"get\", \"key\": \"k\"}",
                "one request, no newline");
    frame_check("{\"a\":1}\n{\"b\":2}\r\n", "{\"a\":1}|{\"b\":2}", "two with newlines");
    frame_check("{\"a\":1}{\"b\":[2,{}]}  {}", "{\"a\":1}|{\"b\":[2,{}]}|{}", "three in a row");
    frame_check("{\"a\":\"}{\\\"]\"}", "{\"a\":\"}{\\\"]\"}", "brackets and quotes in a string");
    frame_check("{\"a\":\"\\\\\"}{}", "{\"a\":\"\\\\\"}|{}", "an escaped backslash ends no string");
    frame_check("[1,[2,[3]]] \"str{\" ", "[1,[2,[3]]]|\"str{\"", "array and string at the top");
    frame_check("123 true\nnull\tgarbage! ", "123|true|null|garbage!", "bare words end at whitespace");
    frame_check("12{\"a\":1}x\"s\"", "12|{\"a\":1}|x|\"s\"", "bare words end at a value");
    frame_check("}]{}", "}]|{}", "stray closing brackets are a bare word");
    frame_check(" \n\t\r ", "", "whitespace alone frames nothing");
    frame_check("{\"a\":[1,2", "", "an unfinished value frames nothing");

    CHECK_STR(frames("{\"a\":12}", 8, 0, 8), "{\"a\":12}", "a value of exactly max bytes");
    CHECK_STR(frames("{\"a\":123}", 9, 0, 8), "!TOO_LARGE", "max + 1 bytes is too large");
    CHECK_STR(frames("{\"a\":123}", 9, 1, 8), "!TOO_LARGE", "too large byte by byte");
    CHECK_STR(frames("12345678 ", 9, 0, 8), "12345678", "a bare word of max bytes");
    CHECK_STR(frames("{}\"0123456789\"", 14, 0, 8), "{}|!TOO_LARGE", "the limit is per value");
    CHECK_STR(frames("{}", 2, 0, 0), "!TOO_LARGE", "max 0 frames nothing");

    struct json_framer f = { 0 };
    CHECK(json_frame(&f, "   \n", 4, 10) == JSON_FRAME_MORE && f.skip == 4 && f.len == 0,
          "whitespace goes to skip");
    f.skip = 0;    /* the caller dropped it */
    CHECK(json_frame(&f, " {\"a\"", 5, 10) == JSON_FRAME_MORE && f.skip == 1 && f.len == 4,
          "skip then the value's bytes");
    f.skip = 0;
    CHECK(json_frame(&f, ":1}{}", 5, 10) == JSON_FRAME_DONE && f.len == 7,
          "the value ends where its bracket closes");
    json_framer_reset(&f);
    CHECK(json_frame(&f, NULL, 0, 10) == JSON_FRAME_MORE, "nothing to frame");

    /* Whitespace does not count toward the limit. */
    char big[3000];
    memset(big, ' ', sizeof big);
    memcpy(big + sizeof big - 2, "{}", 2);
    CHECK_STR(frames(big, sizeof big, 7, 2), "{}", "lots of whitespace before a small value");
}

/* --- the parser ------------------------------------------------------ */

static struct json_request req;
static char err[512];

static int parse(const char *s)
{
    err[0] = '\0';
    return json_parse_request(s, strlen(s), &req, err, sizeof err);
}

static int span_is(const struct json_member *m, const char *want)
{
    return m->p && m->n == strlen(want) && memcmp(m->p, want, m->n) == 0;
}

static void good_value(const char *value, enum json_type type)
{
    char buf[256];
    snprintf(buf, sizeof buf, "{\"command\":\"set\",\"key\":\"k\",\"value\": %s }", value);
    int r = parse(buf);
    CHECK(r == 0 && span_is(&req.value, value) && req.value.type == type,
          "value %s: exact text, %s (%d, %s)", value, json_type_name(type), r, err);
}

static void test_parse_good(void)
{
    CHECK(parse("{\"command\": \"get\", \"key\": \"k\"}") == 0, "a get parses");
    CHECK(span_is(&req.command, "\"get\"") && req.command.type == JSON_STRING, "command span");
    CHECK(span_is(&req.key, "\"k\"") && req.key.type == JSON_STRING, "key span");
    CHECK(req.value.type == JSON_ABSENT && req.ttl.type == JSON_ABSENT && !req.value.p,
          "absent members stay absent");
    CHECK(parse(" \r\n\t{ } \n") == 0 && req.command.type == JSON_ABSENT,
          "an empty object, whitespace around");
    CHECK(parse("{\"ttl\": 1.5e3, \"command\": \"set\"}") == 0 && span_is(&req.ttl, "1.5e3") &&
          req.ttl.type == JSON_NUMBER, "ttl span");
    CHECK(parse("{\"comm\\u0061nd\": \"count\"}") == 0 && span_is(&req.command, "\"count\""),
          "a member name with an escape");

    good_value("\"a string\"", JSON_STRING);
    good_value("\"\\u00e9\\ud83d\\ude00 \\\" \\\\ \\/ \\b\\f\\n\\r\\t\"", JSON_STRING);
    good_value("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", JSON_STRING);
    good_value("0", JSON_NUMBER);
    good_value("-0.5e-10", JSON_NUMBER);
    good_value("12345678901234567890", JSON_NUMBER);
    good_value("1E+2", JSON_NUMBER);
    good_value("{\"a\": [1, {\"b\": null}], \"a\": 2}", JSON_OBJECT);
    good_value("[]", JSON_ARRAY);
    good_value("[ 1 , \"two\" , [ ] , { } ]", JSON_ARRAY);
    good_value("true", JSON_TRUE);
    good_value("false", JSON_FALSE);
    good_value("null", JSON_NULL);
}

static void bad(const char *s, const char *want, const char *what)
{
    int r = parse(s);
    CHECK(r == -1, "%s: refused", what);
    CHECK_HAS(err, want, "%s: message", what);
}

/* A request whose value is nested so that there are levels in all. */
static const char *nested(int levels)
{
    static char buf[256];
    size_t n = (size_t)snprintf(buf, sizeof buf, "{\"value\":");
    for (int i = 1; i < levels; i++)
        buf[n++] = '[';
    for (int i = 1; i < levels; i++)
        buf[n++] = ']';
    buf[n++] = '}';
    buf[n] = '\0';
    return buf;
}

static void test_parse_bad(void)
{
    bad("", "empty request", "empty");
    bad("  \n", "empty request", "whitespace only");
    bad("[1]", "must be a JSON object", "an array");
    bad("\"get\"", "must be a JSON object", "a string");
    bad("123", "must be a JSON object", "a number");
    bad("\xef\xbb\xbf{}", "must be a JSON object", "a byte order mark");
    bad("{\"command\": \"get\"} x", "unexpected data after the request", "trailing garbage");
    bad("{}{}", "at byte 2: unexpected data", "two objects");
    bad("{\"key\": \"a\", \"key\": \"b\"}", "duplicate member \"key\"", "duplicate key");
    bad("{\"command\":\"a\",\"c\\u006fmmand\":\"b\"}", "duplicate member", "duplicate by escape");
    bad("{\"colour\": 1}", "unknown member \"colour\"", "unknown member");
    bad("{\"command\": 1}", "\"command\" must be a string, not a number", "command a number");
    bad("{\"key\": [\"k\"]}", "\"key\" must be a string, not an array", "key an array");
    bad("{\"key\": null}", "\"key\" must be a string, not null", "key null");
    bad("{\"ttl\": \"5\"}", "\"ttl\" must be a number, not a string", "ttl a string");
    bad("{\"command\" \"get\"}", "expected ':'", "no colon");
    bad("{\"command\": \"get\",}", "expected a member name", "trailing comma");
    bad("{\"command\": \"get\" \"key\": \"k\"}", "expected ',' or '}'", "no comma");
    bad("{command: \"get\"}", "expected a member name", "unquoted name");
    bad("{'command': 'get'}", "expected a member name", "single quotes");
    bad("{\"command\": \"get\"", "unexpected end", "unclosed object");
    bad("{\"command\": \"get", "unexpected end", "unclosed string");
    bad("{\"value\": [1, 2}", "expected ',' or ']'", "mismatched bracket");
    bad("{\"value\": [1,]}", "unexpected character", "trailing comma in an array");
    bad("{\"value\": 01}", "expected ',' or '}'", "a leading zero");
    bad("{\"value\": 1.}", "digits must follow '.'", "a bare point");
    bad("{\"value\": .5}", "unexpected character", "no integer part");
    bad("{\"value\": 1e}", "digits must follow the exponent", "an empty exponent");
    bad("{\"value\": +1}", "unexpected character", "a plus sign");
    bad("{\"value\": -}", "invalid number", "a lone minus");
    bad("{\"value\": NaN}", "unexpected character", "NaN");
    bad("{\"value\": tru}", "unexpected character", "a cut literal");
    bad("{\"value\": True}", "unexpected character", "a capital literal");
    bad("{\"value\": \"a\tb\"}", "control character", "a raw tab in a string");
    bad("{\"value\": \"\\x\"}", "invalid escape", "an unknown escape");
    bad("{\"value\": \"\\u12G4\"}", "invalid \\u escape", "a bad hex digit");
    bad("{\"value\": \"\\u12\"}", "invalid \\u escape", "a short \\u");
    bad("{\"value\": \"\\ud800\"}", "unpaired surrogate", "a lone high surrogate");
    bad("{\"value\": \"\\ud800\\u0041\"}", "unpaired surrogate", "a high then a non-low");
    bad("{\"value\": \"\\udc00\"}", "unpaired surrogate", "a lone low surrogate");
    bad("{\"value\": \"\xc0\x80\"}", "invalid UTF-8", "an overlong NUL");
    bad("{\"value\": \"\xed\xa0\x80\"}", "invalid UTF-8", "an encoded surrogate");
    bad("{\"value\": \"\xf5\x80\x80\x80\"}", "invalid UTF-8", "past U+10FFFF");
    bad("{\"value\": \"\xe2\x82\"}", "invalid UTF-8", "a cut sequence");
    bad("{\"value\": \"\x80\"}", "invalid UTF-8", "a stray continuation byte");
    bad("{\"value\": 1 \xff}", "expected ',' or '}'", "a stray byte outside strings");

    /* Nesting: 64 levels with the request's own braces, not 65. */
    CHECK(parse(nested(64)) == 0, "64 levels parse (%s)", err);
    bad(nested(65), "nested too deeply", "65 levels");
    bad("{\"value\": {\"a\": {\"b\": 1}", "unexpected end", "nested objects unclosed");

    static const char nul_after[] = "{\"command\": \"get\"}\0";
    CHECK(json_parse_request(nul_after, sizeof nul_after - 1, &req, err, sizeof err) == -1,
          "a NUL after the object: refused");
    CHECK_HAS(err, "unexpected data", "a NUL after the object: message");

    /* A value nested very deeply is refused, not a stack overflow. */
    static char abyss[200010];
    memcpy(abyss, "{\"value\":", 9);
    memset(abyss + 9, '[', 200000);
    abyss[200009] = '\0';
    bad(abyss, "nested too deeply", "200000 open brackets");
}

static void test_number_value(void)
{
    double d = 0;
    CHECK(json_number_value("1.5", 3, &d) == 0 && d == 1.5, "1.5");
    CHECK(json_number_value("-2e3", 4, &d) == 0 && d == -2000, "-2e3");
    CHECK(json_number_value("1.5x", 3, &d) == 0 && d == 1.5, "only n bytes are read");
    CHECK(json_number_value("1.", 2, &d) == -1, "1. is not a number");
    CHECK(json_number_value("", 0, &d) == -1, "nothing is not a number");
    CHECK(json_number_value("0x10", 4, &d) == -1, "no hex");
    char longnum[80];
    memset(longnum, '1', sizeof longnum);
    CHECK(json_number_value(longnum, 63, &d) == 0, "63 digits");
    CHECK(json_number_value(longnum, 64, &d) == -1, "64 digits are refused");
}

/* --- strings --------------------------------------------------------- */

static int decodes_to(const char *lit, const char *want, size_t nwant)
{
    char out[64];
    size_t n = 99;
    return json_string_decode(lit, strlen(lit), out, sizeof out, &n) == 0 && n == nwant &&
           memcmp(out, want, n) == 0;
}

static int decode_fails(const char *lit)
{
    char out[64];
    size_t n;
    return json_string_decode(lit, strlen(lit), out, sizeof out, &n) == -1;
}

static void test_decode(void)
{
    CHECK(decodes_to("\"\"", "", 0), "the empty string");
    CHECK(decodes_to("\"abc\"", "abc", 3), "plain");
    CHECK(decodes_to("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8), "short escapes");
    CHECK(decodes_to("\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6), "\\u to UTF-8");
    CHECK(decodes_to("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4), "a surrogate pair");
    CHECK(decodes_to("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4), "U+10FFFF");
    CHECK(decodes_to("\"a\\u0000b\"", "a\0b", 3), "an escaped NUL");
    CHECK(decodes_to("\"\xf0\x9f\x98\x80\"", "\xf0\x9f\x98\x80", 4), "raw UTF-8 kept");
    CHECK(decode_fails("abc"), "no quotes");
    CHECK(decode_fails("\""), "a lone quote");
    CHECK(decode_fails("\"abc"), "unterminated");
    CHECK(decode_fails("\"a\"b\""), "a quote inside");
    CHECK(decode_fails("\"abc\\\""), "an escaped closing quote");
    CHECK(decode_fails("\"\\\""), "a backslash, then the end");
    CHECK(decode_fails("\"\\ud83d\""), "a lone high surrogate");
    CHECK(decode_fails("\"\\ud83d\\n\""), "a high surrogate, then not \\u");
    CHECK(decode_fails("\"\\ud83d\\ud83d\""), "two high surrogates");
    CHECK(decode_fails("\"\\ude00\""), "a lone low surrogate");
    CHECK(decode_fails("\"\\u00\""), "a short \\u");
    CHECK(decode_fails("\"\\ud83d\\ude0\""), "a short low half");
    CHECK(decode_fails("\"a\nb\""), "a raw newline");
    CHECK(decode_fails("\"\xff\""), "a byte that is never UTF-8");
    CHECK(decode_fails("\"\xe0\x80\xaf\""), "an overlong slash");

    char out[4];
    size_t n = 0;
    CHECK(json_string_decode("\"abcd\"", 6, out, 4, &n) == 0 && n == 4, "fits exactly");
    CHECK(json_string_decode("\"abcde\"", 7, out, 4, &n) == -1, "one byte too many");
    CHECK(json_string_decode("\"ab\\u20ac\"", 10, out, 4, &n) == -1, "an escape that does not fit");
    CHECK(json_string_decode("\"ab\"", 4, NULL, 4, &n) == -1, "no output buffer");

    char inplace[] = "\"x\\u0041\\n\\ud83d\\ude00y\"";
    CHECK(json_string_decode(inplace, strlen(inplace), inplace, sizeof inplace, &n) == 0 &&
          n == 8 && memcmp(inplace, "xA\n\xf0\x9f\x98\x80y", 8) == 0, "decoding in place");
}

/* json_put_string's output as a C string. */
static const char *put(const char *s, size_t n)
{
    static char got[512];
    struct evbuffer *b = evbuffer_new();
    json_put_string(b, s, n);
    size_t len = evbuffer_get_length(b);
    if (len >= sizeof got)
        len = sizeof got - 1;
    evbuffer_remove(b, got, len);
    got[len] = '\0';
    evbuffer_free(b);
    return got;
}

static void test_put(void)
{
    CHECK_STR(put("", 0), "\"\"", "the empty string");
    CHECK_STR(put("plain text", 10), "\"plain text\"", "plain");
    CHECK_STR(put("a\"b\\c", 5), "\"a\\\"b\\\\c\"", "quote and backslash");
    CHECK_STR(put("\b\f\n\r\t", 5), "\"\\b\\f\\n\\r\\t\"", "short escapes");
    CHECK_STR(put("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\x7f\"", "control bytes as \\u");
    CHECK_STR(put("a\0b", 3), "\"a\\u0000b\"", "a NUL");
    CHECK_STR(put("\xc3\xa9\xf0\x9f\x98\x80", 6), "\"\xc3\xa9\xf0\x9f\x98\x80\"", "UTF-8 as is");
    CHECK_STR(put("a\xff" "b", 3), "\"a\xef\xbf\xbd" "b\"", "a stray byte becomes U+FFFD");
    CHECK_STR(put("\xc3", 1), "\"\xef\xbf\xbd\"", "a cut sequence at the end");
    CHECK_STR(put("\xed\xa0\x80", 3), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
              "an encoded surrogate: one U+FFFD per byte");
    CHECK_STR(put("\xc0\xaf", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"", "an overlong form");

    /* Every byte value round trips (as UTF-8 when it is a code point). */
    int ok = 1;
    for (int c = 0; c < 0x80; c++) {
        char in = (char)c, out[8];
        size_t n = 0;
        const char *lit = put(&in, 1);
        if (json_string_decode(lit, strlen(lit), out, sizeof out, &n) || n != 1 || out[0] != in)
            ok = 0;
    }
    CHECK(ok, "every ASCII byte round trips");
}

int main(void)
{
    test_framer();
    test_parse_good();
    test_parse_bad();
    test_number_value();
    test_decode();
    test_put();
    return unit_done();
}
