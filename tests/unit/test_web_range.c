/*
 * Unit test of servers/web/range.c: byte Range headers (RFC 9110 14.2)
 * for a file of a given size: the three forms of range-spec, clamping,
 * unsatisfiable and malformed specs, the RANGE_MAX ceiling, and the
 * merging of overlapping and adjacent ranges in the order given.  The web
 * server's sources are not in galecore, so range.c is compiled into this
 * test.  TAP output; exits non-zero when a check fails.
 */
#include "../../servers/web/range.c"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

static struct byte_range r[RANGE_MAX];

/* Parses value for size and compares with want, written "first-last,...";
 * want NULL means the result must be n (0 or -1) with no ranges. */
static void expect(const char *value, uint64_t size, int n, const char *want)
{
    char got[512] = "";
    size_t o = 0;
    int k = range_parse(value, strlen(value), size, r);
    for (int i = 0; i < k && o < sizeof got; i++)
        o += (size_t)snprintf(got + o, sizeof got - o, "%s%" PRIu64 "-%" PRIu64, i ? "," : "",
                              r[i].first, r[i].last);
    if (CHECK(k == n, "'%s' for %" PRIu64 " bytes: %d ranges (got %d)", value, size, n, k) &&
        want)
        CHECK_STR(got, want, "'%s' for %" PRIu64 " bytes", value, size);
}

static void test_forms(void)
{
    expect("bytes=0-99", 1000, 1, "0-99");
    expect("bytes=0-0", 1000, 1, "0-0");
    expect("bytes=500-", 1000, 1, "500-999");
    expect("bytes=-100", 1000, 1, "900-999");
    expect("bytes=999-999", 1000, 1, "999-999");
    expect("bytes=990-2000", 1000, 1, "990-999");
    expect("bytes=0-18446744073709551615", 1000, 1, "0-999");
    expect("bytes=0-99999999999999999999999", 1000, 1, "0-999");
    expect("bytes=-5000", 1000, 1, "0-999");
    expect("bytes=-1000", 1000, 1, "0-999");
    expect("bytes=-999", 1000, 1, "1-999");
    expect("BYTES=0-1", 10, 1, "0-1");
    expect("Bytes=0-1", 10, 1, "0-1");
    expect("bytes=0-99,200-,-50", 1000, 2, "0-99,200-999");   /* 200- swallows -50 */
    expect("bytes=0-9,20-29,-5", 1000, 3, "0-9,20-29,995-999");
    expect("bytes= 0-1 , 5-6 ", 10, 2, "0-1,5-6");
    expect("bytes=0-1,\t5-6", 10, 2, "0-1,5-6");
    expect("bytes=0-1,,5-6,", 10, 2, "0-1,5-6");
    expect("bytes=,0-1", 10, 1, "0-1");
}

static void test_unsatisfiable(void)
{
    expect("bytes=1000-", 1000, 0, NULL);
    expect("bytes=1000-2000", 1000, 0, NULL);
    expect("bytes=-0", 1000, 0, NULL);
    expect("bytes=0-0", 0, 0, NULL);
    expect("bytes=0-", 0, 0, NULL);
    expect("bytes=-1", 0, 0, NULL);
    expect("bytes=-0", 0, 0, NULL);
    expect("bytes=2000-,0-9", 1000, 1, "0-9");
    expect("bytes=99999999999999999999-", 1000, 0, NULL);
    expect("bytes=1000-,1001-,-0", 1000, 0, NULL);
}

static void test_malformed(void)
{
    expect("", 1000, -1, NULL);
    expect("bytes", 1000, -1, NULL);
    expect("bytes=", 1000, -1, NULL);
    expect("bytes=,", 1000, -1, NULL);
    expect("bytes= ", 1000, -1, NULL);
    expect("bytes =0-1", 1000, -1, NULL);
    expect("bytes:0-1", 1000, -1, NULL);
    expect("items=0-1", 1000, -1, NULL);
    expect("bytesx=0-1", 1000, -1, NULL);
    expect("bytes=5-4", 1000, -1, NULL);
    expect("bytes=5-4", 0, -1, NULL);
    expect("bytes=0-1,5-4", 1000, -1, NULL);
    expect("bytes=-", 1000, -1, NULL);
    expect("bytes=--5", 1000, -1, NULL);
    expect("bytes=1", 1000, -1, NULL);
    expect("bytes=a-b", 1000, -1, NULL);
    expect("bytes=0x1-2", 1000, -1, NULL);
    expect("bytes=+1-2", 1000, -1, NULL);
    expect("bytes=-+1", 1000, -1, NULL);
    expect("bytes=1-2-3", 1000, -1, NULL);
    expect("bytes=1 -2", 1000, -1, NULL);
    expect("bytes=1- 2", 1000, -1, NULL);
    expect("bytes=0-1;2-3", 1000, -1, NULL);
    expect("bytes=2000-1000", 1000, -1, NULL);   /* invalid even though past the end */

    static const char nul[] = "bytes=0-1\0";
    CHECK(range_parse(nul, sizeof nul - 1, 10, r) == -1, "NUL in the value");
    CHECK(range_parse("bytes=0-1,2-3", 9, 10, r) == 1 && r[0].last == 1, "len is respected");
}

static void test_limit(void)
{
    char buf[512];
    size_t o = (size_t)snprintf(buf, sizeof buf, "bytes=");
    for (int i = 0; i < RANGE_MAX; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%d-%d", i ? "," : "", i * 10, i * 10);
    CHECK(range_parse(buf, o, 1000, r) == RANGE_MAX, "RANGE_MAX ranges are fine");
    CHECK(r[RANGE_MAX - 1].first == (RANGE_MAX - 1) * 10, "the last of them kept");
    snprintf(buf + o, sizeof buf - o, ",500-600");
    CHECK(range_parse(buf, strlen(buf), 1000, r) == -1, "one more: ignored (-1)");

    o = (size_t)snprintf(buf, sizeof buf, "bytes=");
    for (int i = 0; i <= RANGE_MAX; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s0-0", i ? "," : "");
    CHECK(range_parse(buf, o, 1000, r) == -1, "too many specs even when they would merge");
    o = (size_t)snprintf(buf, sizeof buf, "bytes=");
    for (int i = 0; i <= RANGE_MAX; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s5000-", i ? "," : "");
    CHECK(range_parse(buf, o, 1000, r) == -1, "too many specs even when unsatisfiable");
}

static void test_merge(void)
{
    expect("bytes=0-0,0-0,0-0", 1000, 1, "0-0");
    expect("bytes=0-9,10-19", 1000, 1, "0-19");          /* adjacent */
    expect("bytes=10-19,0-9", 1000, 1, "0-19");
    expect("bytes=0-9,11-19", 1000, 2, "0-9,11-19");     /* a gap of one byte */
    expect("bytes=0-50,40-60", 1000, 1, "0-60");
    expect("bytes=500-599,0-99,550-", 1000, 2, "500-999,0-99");
    expect("bytes=0-9,20-29,40-49,5-45", 1000, 1, "0-49");
    expect("bytes=40-49,20-29,0-9,5-45,100-", 1000, 2, "0-49,100-999");
    expect("bytes=100-199,0-9,50-59,10-49", 1000, 2, "100-199,0-59");
    expect("bytes=0-9,20-29,10-19", 1000, 1, "0-29");
    expect("bytes=-10,0-989", 1000, 1, "0-999");
    expect("bytes=-10,-20", 1000, 1, "980-999");
    expect("bytes=0-,1-,-1", 1000, 1, "0-999");
}

int main(void)
{
    test_forms();
    test_unsatisfiable();
    test_malformed();
    test_limit();
    test_merge();
    return unit_done();
}
