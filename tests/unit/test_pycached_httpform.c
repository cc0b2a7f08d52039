/*
 * Unit test of servers/pycached/httpform.c: POST / forms decoded into
 * the request pyc_run gets ('+', %XX, empty and unknown fields, repeated
 * ones, bad escapes, ttl), and the answer made into text (a JSON string
 * decoded, other JSON kept, no value, errors).  pyc_run is replaced by
 * one that describes the request it was given.  TAP output.
 */
#include "../../servers/pycached/httpform.c"
#include "../../servers/pycached/jsonval.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "unit.h"

/* "command|key|value|ttl" as a JSON string ("-" for an absent field),
 * so that httpform_run hands it back as text; commands "none", "fail"
 * and "json" answer no value, an error and a JSON array. */
int pyc_run(struct pyc_server *srv, enum pyc_proto proto, const struct pyc_request *r,
            struct evbuffer *out, char *err, size_t errlen)
{
    char desc[512];
    (void)srv, (void)proto;
    if (r->ncommand == 4 && memcmp(r->command, "none", 4) == 0)
        return 0;
    if (r->ncommand == 4 && memcmp(r->command, "fail", 4) == 0) {
        snprintf(err, errlen, "no such key: %.*s", (int)r->nkey, r->key);
        return -1;
    }
    if (r->ncommand == 4 && memcmp(r->command, "json", 4) == 0) {
        evbuffer_add(out, "[1, \"a\"]", 8);
        return 1;
    }
    int n = snprintf(desc, sizeof desc, "%.*s|%.*s|%.*s|", (int)r->ncommand, r->command,
                     r->has_key ? (int)r->nkey : 1, r->has_key ? r->key : "-",
                     r->has_value ? (int)r->nvalue : 1, r->has_value ? r->value : "-");
    if (r->has_ttl)
        n += snprintf(desc + n, sizeof desc - (size_t)n, "%g", r->ttl);
    else
        n += snprintf(desc + n, sizeof desc - (size_t)n, "-");
    json_put_string(out, desc, (size_t)n);
    return 1;
}

/* The answer to form as text: "rc:body" or "rc!error". */
static const char *run(const char *form)
{
    static char got[1024];
    char err[256] = "";
    struct evbuffer *out = evbuffer_new();
    int rc = httpform_run(NULL, form, strlen(form), out, err, sizeof err);
    size_t n = evbuffer_get_length(out);
    if (rc < 0)
        snprintf(got, sizeof got, "%d!%s", rc, err);
    else
        snprintf(got, sizeof got, "%d:%.*s", rc, (int)n, (const char *)evbuffer_pullup(out, -1));
    evbuffer_free(out);
    return got;
}

static void test_fields(void)
{
    CHECK_STR(run("command=set&key=k&value=v"), "1:set|k|\"v\"|-", "the three fields");
    CHECK_STR(run("value=v&key=k&command=set"), "1:set|k|\"v\"|-", "in any order");
    CHECK_STR(run("command=set&key=a+b&value=%41%42c%2b"), "1:set|a b|\"ABc+\"|-",
              "+ is a space, %%XX a byte, in any case");
    CHECK_STR(run("command=set&key=k&value=%22q%22%5C"), "1:set|k|\"\\\"q\\\"\\\\\"|-",
              "the value becomes a JSON string");
    CHECK_STR(run("command=set&key=k&value=%C3%A9"), "1:set|k|\"\xc3\xa9\"|-", "UTF-8 kept");
    CHECK_STR(run("command=set&key=k&value="), "1:set|k|\"\"|-", "an empty value is a value");
    CHECK_STR(run("command=get&key"), "1:get||-|-", "a field without '=' is empty");
    CHECK_STR(run("&&command=count&&"), "1:count|-|-|-", "empty pieces are skipped");
    CHECK_STR(run("x=1&command=count&_=%41"), "1:count|-|-|-", "unknown fields are ignored");
    CHECK_STR(run("c%6Fmmand=count"), "1:count|-|-|-", "names are decoded too");
    CHECK_STR(run("command=get&key=a=b"), "1:get|a=b|-|-", "only the first '=' splits");
}

static void test_refused(void)
{
    CHECK_HAS(run(""), "missing command", "an empty body");
    CHECK_HAS(run("key=k"), "missing command", "no command");
    CHECK_HAS(run("command=&key=k"), "missing command", "an empty command");
    CHECK_HAS(run("command=get&key=a&key=b"), "given twice: key", "a repeated field");
    CHECK_HAS(run("command=get&key=%4"), "malformed form", "a cut escape");
    CHECK_HAS(run("command=get&key=%"), "malformed form", "a lone %%");
    CHECK_HAS(run("command=get&key=%zz"), "malformed form", "an escape that is not hex");
    CHECK_HAS(run("comm%and=get"), "malformed form", "a bad escape in a name");
}

static void test_ttl(void)
{
    CHECK_STR(run("command=set&key=k&value=v&ttl=1.5"), "1:set|k|\"v\"|1.5", "a ttl");
    CHECK_STR(run("command=set&key=k&value=v&ttl="), "1:set|k|\"v\"|-", "an empty ttl is none");
    CHECK_STR(run("command=set&key=k&value=v&ttl=-3"), "1:set|k|\"v\"|-3", "pyc_run judges the sign");
    CHECK_HAS(run("command=set&ttl=soon"), "ttl is not a number", "words");
    CHECK_HAS(run("command=set&ttl=1x"), "ttl is not a number", "trailing bytes");
    CHECK_HAS(run("command=set&ttl=inf"), "ttl is not a number", "infinity");
    CHECK_HAS(run("command=set&ttl=nan"), "ttl is not a number", "NaN");
    CHECK_HAS(run("command=set&ttl=1%00"), "ttl is not a number", "a NUL inside");
    char longttl[200] = "command=set&ttl=";
    memset(longttl + strlen(longttl), '1', 100);
    CHECK_HAS(run(longttl), "ttl is not a number", "a hundred digits");
}

static void test_answers(void)
{
    CHECK_STR(run("command=none"), "0:", "no value: nothing");
    CHECK_STR(run("command=json"), "1:[1, \"a\"]", "JSON other than a string stays JSON");
    CHECK_STR(run("command=fail&key=k"), "-1!no such key: k", "pyc_run's error");
}

/* Arbitrary bodies: no crash, no read past the input (ASan), and an
 * answer or an error every time. */
static void test_noise(void)
{
    static const char alphabet[] = "%&=+ac0Fz\x80\xff";
    unsigned seed = 12345;
    int ok = 1;
    for (int i = 0; i < 20000; i++) {
        char body[24];
        size_t n = (size_t)(i % (int)sizeof body);
        for (size_t j = 0; j < n; j++) {
            seed = seed * 1103515245u + 12345u;
            body[j] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        char *copy = malloc(n ? n : 1);      /* exactly n bytes, so ASan sees overreads */
        memcpy(copy, body, n);
        char err[128] = "";
        struct evbuffer *out = evbuffer_new();
        int rc = httpform_run(NULL, copy, n, out, err, sizeof err);
        ok &= rc == 1 || (rc == -1 && err[0]);
        evbuffer_free(out);
        free(copy);
    }
    CHECK(ok, "20000 noisy bodies each get an answer or an error");
}

int main(void)
{
    test_fields();
    test_refused();
    test_ttl();
    test_answers();
    test_noise();
    return unit_done();
}
