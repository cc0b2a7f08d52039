/*
 * Unit test of the DNS server's master-file parser (servers/dns/zone.c
 * and zone_rdata.c; RFC 1035 section 5, RFC 2308 $TTL, RFC 3597 generic
 * rdata): every directive and record type, parentheses and comments,
 * owner and TTL inheritance, '@' and relative names, how the origin is
 * found, $INCLUDE through a callback with its depth limit, and each
 * error with its "file:line: what".  The DNS sources are compiled into
 * this test.  TAP output; exits non-zero when a check fails.
 */
#include "../../servers/dns/wire.c"
#include "../../servers/dns/zone.c"
#include "../../servers/dns/zone_rdata.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define MAX_RECS 300

struct rec {
    char owner[1024];
    uint16_t type, class;
    uint32_t ttl;
    uint8_t *rdata;
    uint16_t rdlen;
};

static struct rec recs[MAX_RECS];
static int nrecs, refuse_at = -1;
static char err[512];
static struct zone_parse zp;

static int on_record(void *arg, const struct dns_name *owner, uint16_t type, uint16_t class,
                     uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    (void)arg;
    if (nrecs == refuse_at || nrecs == MAX_RECS)
        return 1;
    struct rec *r = &recs[nrecs++];
    dns_name_to_text(owner, r->owner, sizeof r->owner);
    r->type = type;
    r->class = class;
    r->ttl = ttl;
    r->rdlen = rdlen;
    r->rdata = malloc(rdlen ? rdlen : 1);
    memcpy(r->rdata, rdata, rdlen);
    return 0;
}

/* The files $INCLUDE can read; "loop.zone" includes itself. */
static const struct { const char *name, *text; } files[] = {
    { "hosts.inc", "www A 192.0.2.1\n  AAAA 2001:db8::1\n$ORIGIN other.\nx A 192.0.2.9\n" },
    { "ttl.inc", "$TTL 77\n" },
    { "blank.inc", "   A 192.0.2.3\n" },
    { "bad.inc", "ok A 192.0.2.1\n\nbad A 300.1.2.3\n" },
    { "loop.zone", "$INCLUDE loop.zone\n" },
};

static char *on_include(void *arg, const char *name, size_t *len, char *e, size_t elen)
{
    (void)arg;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (strcmp(name, files[i].name) == 0) {
            *len = strlen(files[i].text);
            return strdup(files[i].text);
        }
    snprintf(e, elen, "no such file");
    return NULL;
}

static void reset(void)
{
    for (int i = 0; i < nrecs; i++)
        free(recs[i].rdata);
    nrecs = 0;
    refuse_at = -1;
    memset(&zp, 0, sizeof zp);
    zp.file = "t.zone";
    zp.on_record = on_record;
    zp.on_include = on_include;
    err[0] = '\0';
}

static int parse_n(const char *text, size_t len)
{
    reset();
    return zone_parse_text(&zp, text, len, err, sizeof err);
}

static int parse(const char *text)
{
    return parse_n(text, strlen(text));
}

static int parse_origin(const char *text, const char *origin)
{
    static struct dns_name o;
    reset();
    dns_name_from_text(origin, strlen(origin), &o);
    zp.origin = &o;
    return zone_parse_text(&zp, text, strlen(text), err, sizeof err);
}

/* The expected rdata, built field by field. */
static uint8_t want[70000];
static size_t want_len;

static void w_reset(void) { want_len = 0; }
static void w_u8(unsigned v) { want[want_len++] = (uint8_t)v; }
static void w_u16(unsigned v) { w_u8(v >> 8); w_u8(v & 0xff); }
static void w_u32(uint32_t v) { w_u16(v >> 16); w_u16(v & 0xffff); }
static void w_bytes(const void *p, size_t n) { memcpy(want + want_len, p, n); want_len += n; }
static void w_str(const char *s) { w_u8((unsigned)strlen(s)); w_bytes(s, strlen(s)); }

static void w_name(const char *text)
{
    struct dns_name n;
    dns_name_from_text(text, strlen(text), &n);
    w_bytes(n.wire, n.len);
}

static int rdata_is(int i)
{
    return i < nrecs && recs[i].rdlen == want_len && memcmp(recs[i].rdata, want, want_len) == 0;
}

static int rec_is(int i, const char *owner, uint16_t type, uint32_t ttl)
{
    return i < nrecs && strcmp(recs[i].owner, owner) == 0 && recs[i].type == type &&
           recs[i].class == DNS_C_IN && recs[i].ttl == ttl;
}

static void bad(const char *text, const char *msg, const char *what)
{
    int r = parse(text);
    CHECK(r == -1, "%s: refused", what);
    CHECK_STR(err, msg, "%s: message", what);
}

static const char basic_zone[] =
    "; a whole zone\n"
    "$ORIGIN example.com.\n"
    "$TTL 1h\n"
    "@   IN  SOA ns1 hostmaster.example.com. (\n"
    "        2024010101 ; serial\n"
    "        2h         ; refresh\n"
    "        15M 1W     ; retry, expire\n"
    "        300 )      ; minimum\n"
    "    IN  NS  ns1\n"
    "        NS  ns2.example.net.\n"
    "ns1     A   192.0.2.1\n"
    "        AAAA 2001:db8::53\n"
    "www 600 IN CNAME @\n"
    "mail IN 900 MX 10 mx.example.com.\n"
    "txt  TXT \"hello world\" bare \"a\\\"b\" \"\\065\\;\"\n"
    "_sip._udp SRV 1 2 5060 sip\n"
    "1.2   PTR host\n"
    "caa   CAA 0 issue \"letsencrypt.org\"\n";

static void test_basic(void)
{
    CHECK(parse(basic_zone) == 0, "basic zone parses (%s)", err);
    CHECK(nrecs == 11, "eleven records (%d)", nrecs);
    CHECK_STR(recs[0].owner, "example.com.", "'@' is the origin");
    CHECK(rec_is(0, "example.com.", DNS_T_SOA, 3600), "SOA with the $TTL");
    w_reset(); w_name("ns1.example.com."); w_name("hostmaster.example.com.");
    w_u32(2024010101); w_u32(7200); w_u32(900); w_u32(604800); w_u32(300);
    CHECK(rdata_is(0), "SOA rdata across lines, units in the timers");
    CHECK(rec_is(1, "example.com.", DNS_T_NS, 3600), "blank owner: the previous one");
    w_reset(); w_name("ns1.example.com.");
    CHECK(rdata_is(1), "relative NS target");
    w_reset(); w_name("ns2.example.net.");
    CHECK(rdata_is(2), "absolute NS target");
    w_reset(); w_u8(192); w_u8(0); w_u8(2); w_u8(1);
    CHECK(rec_is(3, "ns1.example.com.", DNS_T_A, 3600) && rdata_is(3), "A");
    w_reset(); w_bytes("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x53", 16);
    CHECK(rec_is(4, "ns1.example.com.", DNS_T_AAAA, 3600) && rdata_is(4), "AAAA, owner kept");
    w_reset(); w_name("example.com.");
    CHECK(rec_is(5, "www.example.com.", DNS_T_CNAME, 600) && rdata_is(5), "CNAME @, TTL class");
    w_reset(); w_u16(10); w_name("mx.example.com.");
    CHECK(rec_is(6, "mail.example.com.", DNS_T_MX, 900) && rdata_is(6), "MX, class TTL");
    w_reset(); w_str("hello world"); w_str("bare"); w_str("a\"b"); w_str("A;");
    CHECK(rec_is(7, "txt.example.com.", DNS_T_TXT, 3600) && rdata_is(7), "TXT strings");
    w_reset(); w_u16(1); w_u16(2); w_u16(5060); w_name("sip.example.com.");
    CHECK(rec_is(8, "_sip._udp.example.com.", DNS_T_SRV, 3600) && rdata_is(8), "SRV");
    w_reset(); w_name("host.example.com.");
    CHECK(rec_is(9, "1.2.example.com.", DNS_T_PTR, 3600) && rdata_is(9), "PTR");
    w_reset(); w_u8(0); w_u8(5); w_bytes("issue", 5); w_bytes("letsencrypt.org", 15);
    CHECK(rec_is(10, "caa.example.com.", DNS_T_CAA, 3600) && rdata_is(10), "CAA");
    CHECK_STR(zp.found_origin.len ? "set" : "unset", "set", "found_origin set");
    char buf[300];
    dns_name_to_text(&zp.found_origin, buf, sizeof buf);
    CHECK_STR(buf, "example.com.", "found_origin is $ORIGIN");
}

static void test_origin(void)
{
    char buf[300];
    CHECK(parse("example.org. 60 SOA ns hm 1 2 3 4 5\nwww A 192.0.2.1\n") == 0,
          "absolute SOA owner sets the origin (%s)", err);
    dns_name_to_text(&zp.found_origin, buf, sizeof buf);
    CHECK_STR(buf, "example.org.", "found_origin from the SOA");
    CHECK(nrecs == 2 && strcmp(recs[1].owner, "www.example.org.") == 0, "relative after SOA");
    w_reset(); w_name("ns.example.org."); w_name("hm.example.org.");
    w_u32(1); w_u32(2); w_u32(3); w_u32(4); w_u32(5);
    CHECK(rdata_is(0), "SOA names relative to its own owner");
    bad("www A 192.0.2.1\n", "t.zone: no $ORIGIN and no absolute SOA owner", "relative first");
    bad("@ SOA ns hm 1 2 3 4 5\n", "t.zone: no $ORIGIN and no absolute SOA owner", "'@' first");
    bad("", "t.zone: no $ORIGIN and no absolute SOA owner", "empty file, no origin");
    bad("a.example. A 192.0.2.1\n", "t.zone: no $ORIGIN and no absolute SOA owner",
        "only absolute names, no SOA");
    bad("$ORIGIN sub\n", "t.zone: no $ORIGIN and no absolute SOA owner", "relative $ORIGIN");
    CHECK(parse_origin("www A 192.0.2.1\n", "example.net.") == 0, "origin from the caller");
    CHECK(nrecs == 1 && strcmp(recs[0].owner, "www.example.net.") == 0, "relative to it");
    dns_name_to_text(&zp.found_origin, buf, sizeof buf);
    CHECK_STR(buf, "example.net.", "found_origin is the caller's");
    CHECK(parse_origin("", "example.net.") == 0 && nrecs == 0, "empty zone with an origin");
    CHECK(parse("$ORIGIN example.com.\n$ORIGIN sub\nwww A 192.0.2.1\n"
                "$ORIGIN x.y.\n@ A 192.0.2.2\n") == 0, "relative $ORIGIN (%s)", err);
    CHECK(nrecs == 2 && strcmp(recs[0].owner, "www.sub.example.com.") == 0, "nested origin");
    CHECK(nrecs == 2 && strcmp(recs[1].owner, "x.y.") == 0, "absolute $ORIGIN replaces it");
    dns_name_to_text(&zp.found_origin, buf, sizeof buf);
    CHECK_STR(buf, "example.com.", "found_origin is the first origin");
    CHECK(parse_origin("a\\.b A 192.0.2.1\n\\065 A 192.0.2.1\n", "e.") == 0, "escaped names");
    CHECK(nrecs == 2 && strcmp(recs[0].owner, "a\\.b.e.") == 0, "escaped dot in a label");
    CHECK(nrecs == 2 && strcmp(recs[1].owner, "A.e.") == 0, "\\DDD in a name");
    CHECK(parse_origin("a\\\\. A 192.0.2.1\n", "e.") == 0 && nrecs == 1 &&
              strcmp(recs[0].owner, "a\\\\.") == 0, "'\\\\.' ends an absolute name");
}

static void test_ttl(void)
{
    CHECK(parse("$ORIGIN e.\n@ SOA ns hm 1 2 3 4 555\nwww A 192.0.2.1\n") == 0, "no $TTL");
    CHECK(rec_is(0, "e.", DNS_T_SOA, 555) && rec_is(1, "www.e.", DNS_T_A, 555),
          "first SOA without TTL: its minimum, then the previous TTL");
    CHECK(parse("$ORIGIN e.\nwww A 192.0.2.1\n") == 0 && rec_is(0, "www.e.", DNS_T_A, 3600),
          "no TTL at all: 3600");
    reset();
    zp.default_ttl = 42;
    CHECK(zone_parse_text(&zp, "$ORIGIN e.\nwww A 192.0.2.1\n", 26, err, sizeof err) == 0 &&
              rec_is(0, "www.e.", DNS_T_A, 42), "the caller's default_ttl");
    CHECK(parse("$ORIGIN e.\na 100 A 192.0.2.1\nb A 192.0.2.2\n$TTL 7\nc A 192.0.2.3\n"
                "d 8 A 192.0.2.4\ne A 192.0.2.5\n") == 0, "TTL inheritance (%s)", err);
    CHECK(recs[1].ttl == 100, "previous record's TTL");
    CHECK(recs[2].ttl == 7, "$TTL wins over the previous record");
    CHECK(recs[3].ttl == 8 && recs[4].ttl == 7, "an explicit TTL does not change $TTL");
    static const struct { const char *ttl; uint32_t want; } units[] = {
        { "1w2d3h4m5s", 788645 }, { "1W2D3H4M5S", 788645 }, { "5s4m", 245 }, { "0", 0 },
        { "2147483647", 2147483647 }, { "1d", 86400 }, { "3h3h", 21600 },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "$ORIGIN e.\n$TTL %s\na A 192.0.2.1\n", units[i].ttl);
        CHECK(parse(text) == 0 && nrecs == 1 && recs[0].ttl == units[i].want, "TTL %s = %u",
              units[i].ttl, (unsigned)units[i].want);
    }
    static const char *bad_ttls[] = { "2147483648", "1h30", "1x", "h", "99999999999", "4w-1" };
    for (size_t i = 0; i < sizeof bad_ttls / sizeof bad_ttls[0]; i++) {
        char text[128], msg[128];
        snprintf(text, sizeof text, "$ORIGIN e.\n$TTL %s\n", bad_ttls[i]);
        snprintf(msg, sizeof msg, "t.zone:2: bad TTL '%s'", bad_ttls[i]);
        bad(text, msg, bad_ttls[i]);
    }
    bad("$ORIGIN e.\na 1y A 192.0.2.1\n", "t.zone:2: bad TTL '1y'", "bad record TTL");
    bad("$ORIGIN e.\na 1 2 A 192.0.2.1\n", "t.zone:2: TTL given twice", "two TTLs");
}

static void test_class_type(void)
{
    CHECK(parse("$ORIGIN e.\na CLASS1 A 192.0.2.1\nb in a 192.0.2.1\nc TYPE1 192.0.2.1\n") == 0,
          "CLASS1, lower case, TYPE1 (%s)", err);
    CHECK(nrecs == 3 && recs[1].type == DNS_T_A && recs[2].type == DNS_T_A, "types read");
    bad("$ORIGIN e.\na CH A 192.0.2.1\n", "t.zone:2: class CH: only class IN is served", "CH");
    bad("$ORIGIN e.\na CLASS3 A 192.0.2.1\n", "t.zone:2: class CLASS3: only class IN is served",
        "CLASS3");
    bad("$ORIGIN e.\na IN IN A 192.0.2.1\n", "t.zone:2: class given twice", "two classes");
    bad("$ORIGIN e.\na IN FOO 1\n", "t.zone:2: unknown type 'FOO'", "unknown mnemonic");
    bad("$ORIGIN e.\na TYPE65536 \\# 0\n", "t.zone:2: unknown type 'TYPE65536'", "TYPE too big");
    bad("$ORIGIN e.\na TYPE41 \\# 0\n", "t.zone:2: unknown type 'TYPE41'", "OPT refused");
    bad("$ORIGIN e.\na TYPE252 \\# 0\n", "t.zone:2: unknown type 'TYPE252'", "AXFR refused");
    bad("$ORIGIN e.\na IN 300\n", "t.zone:2: missing type", "no type");
    bad("$ORIGIN e.\na\n", "t.zone:2: missing type", "owner alone");
}

static void test_generic(void)
{
    CHECK(parse("$ORIGIN e.\na A \\# 4 C0000201\nb TYPE65280 \\# 5 01 02 0304 05\n"
                "c TYPE65281 \\# 0\nd MX \\# ( 06 0001 026d78 00 )\n") == 0,
          "RFC 3597 forms (%s)", err);
    w_reset(); w_u8(192); w_u8(0); w_u8(2); w_u8(1);
    CHECK(rec_is(0, "a.e.", DNS_T_A, 3600) && rdata_is(0), "A in \\# form");
    w_reset(); w_bytes("\x01\x02\x03\x04\x05", 5);
    CHECK(rec_is(1, "b.e.", 65280, 3600) && rdata_is(1), "unknown type, hex split by blanks");
    CHECK(rec_is(2, "c.e.", 65281, 3600) && recs[2].rdlen == 0, "empty rdata");
    w_reset(); w_u16(1); w_name("mx.");
    CHECK(rec_is(3, "d.e.", DNS_T_MX, 3600) && rdata_is(3), "MX in \\# form, in parentheses");
    bad("$ORIGIN e.\na TYPE65280 1 2\n",
        "t.zone:2: TYPE65280 rdata must be written as \\# LEN HEX (RFC 3597)", "unknown in text");
    bad("$ORIGIN e.\na A \\# 3 C00002\n", "t.zone:2: \\# rdata is not valid for its type",
        "A of 3 bytes");
    bad("$ORIGIN e.\na NS \\# 3 c00c00\n", "t.zone:2: \\# rdata is not valid for its type",
        "compression pointer refused");
    bad("$ORIGIN e.\na TYPE9 \\# 3 0102\n", "t.zone:2: \\# rdata has 2 bytes, its length says 3",
        "too short");
    bad("$ORIGIN e.\na TYPE9 \\# 1 0102\n", "t.zone:2: \\# rdata longer than its length 1",
        "too long");
    bad("$ORIGIN e.\na TYPE9 \\# 2 010\n", "t.zone:2: odd number of hex digits in \\# rdata",
        "odd hex");
    bad("$ORIGIN e.\na TYPE9 \\# 1 0g\n", "t.zone:2: bad hex '0g' in \\# rdata", "bad hex");
    bad("$ORIGIN e.\na TYPE9 \\# 65536\n", "t.zone:2: bad \\# length '65536'", "length too big");
    bad("$ORIGIN e.\na TYPE9 \\#\n", "t.zone:2: missing \\# length", "no length");
}

static void test_txt(void)
{
    char text[1024], long_str[300];
    memset(long_str, 'x', 255);
    long_str[255] = '\0';
    snprintf(text, sizeof text, "$ORIGIN e.\nt TXT \"%s\"\n", long_str);
    CHECK(parse(text) == 0 && nrecs == 1 && recs[0].rdlen == 256, "255-byte string");
    snprintf(text, sizeof text, "$ORIGIN e.\nt TXT \"%sx\"\n", long_str);
    CHECK(parse(text) == -1, "256-byte string refused");
    CHECK_HAS(err, "t.zone:2: TXT string '", "256-byte string: message");
    CHECK_HAS(err, "longer than 255 bytes", "256-byte string: says why");
    snprintf(text, sizeof text, "$ORIGIN e.\nt TXT \"%.250s\\000\\255\\\\\\\\\\\"\"\n", long_str);
    CHECK(parse(text) == 0 && nrecs == 1 && recs[0].rdlen == 256,
          "escapes count as one byte each (%s)", err);
    CHECK(parse("$ORIGIN e.\nt TXT \"\" \"a;b (c)\"\n") == 0, "empty string, specials quoted");
    w_reset(); w_str(""); w_str("a;b (c)");
    CHECK(rdata_is(0), "quoted ';' and parentheses are text");
    CHECK(parse("$ORIGIN e.\nt TXT a\\ b\n") == 0, "escaped blank in a bare word");
    w_reset(); w_str("a b");
    CHECK(rdata_is(0), "one string");
    bad("$ORIGIN e.\nt TXT\n", "t.zone:2: missing TXT string", "no string");
    bad("$ORIGIN e.\nt TXT \"\\256\"\n", "t.zone:2: bad escape in '\\256'", "\\256");
    bad("$ORIGIN e.\nt TXT \"\\12\"\n", "t.zone:2: bad escape in '\\12'", "short \\DDD");
    bad("$ORIGIN e.\nt TXT \"abc\n", "t.zone:2: unterminated quoted string", "open quote");

    /* 258 strings of 255 bytes are more than 65535 bytes of rdata. */
    size_t cap = 300 * 260, n = 0;
    char *big = malloc(cap);
    n += (size_t)snprintf(big, cap, "$ORIGIN e.\nt TXT (\n");
    for (int i = 0; i < 258; i++)
        n += (size_t)snprintf(big + n, cap - n, "\"%s\"\n", long_str);
    n += (size_t)snprintf(big + n, cap - n, ")\n");
    CHECK(parse_n(big, n) == -1, "rdata over 65535 bytes refused");
    CHECK_HAS(err, "rdata longer than 65535 bytes", "rdata limit message (%s)", err);
    free(big);
}

static void test_caa(void)
{
    CHECK(parse("$ORIGIN e.\n@ CAA 128 iodef mailto:a@e.com\n@ CAA 0 issuewild \";\"\n") == 0,
          "CAA, bare and quoted values (%s)", err);
    w_reset(); w_u8(128); w_u8(5); w_bytes("iodef", 5); w_bytes("mailto:a@e.com", 14);
    CHECK(rdata_is(0), "CAA with a bare value");
    w_reset(); w_u8(0); w_u8(9); w_bytes("issuewild", 9); w_u8(';');
    CHECK(rdata_is(1), "CAA with a quoted ';'");
    bad("$ORIGIN e.\n@ CAA 0 abcdefghijklmnop x\n", "t.zone:2: bad CAA tag 'abcdefghijklmnop'",
        "16-char tag");
    bad("$ORIGIN e.\n@ CAA 0 is-sue x\n", "t.zone:2: bad CAA tag 'is-sue'", "tag with '-'");
    bad("$ORIGIN e.\n@ CAA 256 issue x\n", "t.zone:2: bad CAA flags '256'", "flags 256");
    bad("$ORIGIN e.\n@ CAA 0 issue\n", "t.zone:2: missing CAA value", "no value");
}

static void test_rdata_errors(void)
{
    bad("$ORIGIN e.\n\n; c\na A 1.2.3\n", "t.zone:4: bad IPv4 address '1.2.3'", "short IPv4");
    bad("$ORIGIN e.\na A 1.2.3.4.5\n", "t.zone:2: bad IPv4 address '1.2.3.4.5'", "long IPv4");
    bad("$ORIGIN e.\na AAAA 1.2.3.4\n", "t.zone:2: bad IPv6 address '1.2.3.4'", "v4 as AAAA");
    bad("$ORIGIN e.\na AAAA fe80::1%eth0\n", "t.zone:2: bad IPv6 address 'fe80::1%eth0'",
        "scope refused");
    bad("$ORIGIN e.\na A\n", "t.zone:2: missing IPv4 address", "no address");
    bad("$ORIGIN e.\na A 192.0.2.1 x\n", "t.zone:2: unexpected 'x' after the rdata", "trailing");
    bad("$ORIGIN e.\na MX 65536 mx\n", "t.zone:2: bad MX preference '65536'", "MX pref");
    bad("$ORIGIN e.\na MX 10\n", "t.zone:2: missing MX exchange", "MX without a name");
    bad("$ORIGIN e.\na SRV 1 2 x t\n", "t.zone:2: bad SRV port 'x'", "SRV port");
    bad("$ORIGIN e.\n@ SOA ns hm 1 2 3 4\n", "t.zone:2: missing SOA minimum", "SOA short");
    bad("$ORIGIN e.\n@ SOA ns hm 4294967296 2 3 4 5\n",
        "t.zone:2: bad SOA serial '4294967296'", "serial too big");
    bad("$ORIGIN e.\n@ SOA ns hm 1 2 3 4 5q\n", "t.zone:2: bad SOA minimum '5q'", "SOA timer");
    bad("$ORIGIN e.\na NS a..b\n", "t.zone:2: bad name 'a..b'", "empty label");
    bad("$ORIGIN e.\na..b (\n A\n 192.0.2.1 )\n", "t.zone:2: bad name 'a..b'",
        "a bad owner is reported on its own line");
    bad("$ORIGIN e.\na CNAME \"x\"\n", "t.zone:2: bad name 'x'", "quoted name");
    char text[512], label[70];
    memset(label, 'a', 64);
    label[64] = '\0';
    snprintf(text, sizeof text, "$ORIGIN e.\n%s A 192.0.2.1\n", label);
    CHECK(parse(text) == -1 && strstr(err, "t.zone:2: bad name 'aaaa") == err, "64-byte label");
    memset(label, 'a', 62);
    label[62] = '\0';
    snprintf(text, sizeof text, "$ORIGIN %s.%s.%s.\n%s.%s A 192.0.2.1\n", label, label, label,
             label, label);
    CHECK(parse(text) == -1 && strstr(err, "too long under the origin"),
          "name too long with the origin (%s)", err);
}

static void test_lexer(void)
{
    CHECK(parse("$ORIGIN e.\r\n; only a comment\r\n   \t\r\n"
                "a ( 300 ; here\n IN ; and here\n A ; too\n 192.0.2.1 )\r\n"
                "b A 192.0.2.2;no blank needed\n") == 0, "comments and CRLF (%s)", err);
    CHECK(nrecs == 2 && rec_is(0, "a.e.", DNS_T_A, 300), "record split over four lines");
    CHECK(nrecs == 2 && rec_is(1, "b.e.", DNS_T_A, 300), "comment right after a token");
    CHECK(parse("$ORIGIN e.\na A 192.0.2.1") == 0 && nrecs == 1, "no final newline");
    CHECK(parse("$origin e.\n$ttl 5\na A 192.0.2.1\n") == 0 && recs[0].ttl == 5,
          "directives in lower case");
    CHECK(parse("$ORIGIN e.\n()\na A 192.0.2.1\n") == 0 && nrecs == 1, "empty parentheses");
    bad("$ORIGIN e.\na ( A (\n", "t.zone:2: nested parentheses", "nested");
    bad("$ORIGIN e.\na A 192.0.2.1 )\n", "t.zone:2: ')' without '('", "stray ')'");
    bad("$ORIGIN e.\n\na ( A\n192.0.2.1\n\n", "t.zone:3: '(' is never closed", "open '('");
    bad("$ORIGIN e.\n  A 192.0.2.1\n",
        "t.zone:2: no owner name: the first record starts with a blank", "blank owner first");
    bad("$ORIGIN e.\n$FOO x\n", "t.zone:2: unknown directive '$FOO'", "unknown directive");
    bad("$ORIGIN\n", "t.zone:1: $ORIGIN needs a name", "$ORIGIN without a name");
    bad("$ORIGIN e. f.\n", "t.zone:1: unexpected 'f.' after $ORIGIN's name", "$ORIGIN extra");
    bad("$ORIGIN e.\n$TTL\n", "t.zone:2: $TTL needs a TTL", "$TTL without a value");
    bad("$ORIGIN e.\na A 192.0.2.1\n\n\nb A \"1\x01\"\n", "t.zone:5: bad IPv4 address '1?'",
        "control bytes shown as '?'");
    CHECK(parse_n("$ORIGIN e.\na A 192.0.2.1\0\n", 25) == -1, "NUL in a token");
    CHECK_STR(err, "t.zone:2: bad IPv4 address '192.0.2.1?'", "NUL shown as '?'");
    reset();
    zp.file = NULL;
    CHECK(zone_parse_text(&zp, "x A 192.0.2.1", 13, err, sizeof err) == -1 &&
              strcmp(err, "zone: no $ORIGIN and no absolute SOA owner") == 0,
          "no file name: 'zone'");
    reset();
    refuse_at = 1;
    CHECK(zone_parse_text(&zp, "$ORIGIN e.\na A 192.0.2.1\nb A 192.0.2.2\n", 38, err,
                          sizeof err) == -1, "callback refusal stops the parse");
    CHECK_STR(err, "t.zone:3: the record was not accepted", "refusal message");
    CHECK(zone_parse_text(&zp, "$ORIGIN e.\n", 11, err, 0) == 0, "errlen 0 is fine");
}

static void test_include(void)
{
    CHECK(parse("$ORIGIN e.\n$INCLUDE hosts.inc sub\nafter A 192.0.2.2\n   A 192.0.2.4\n"
                "$INCLUDE \"ttl.inc\"\nlast A 192.0.2.5\nmid A 192.0.2.6\n$INCLUDE blank.inc\n") ==
              0, "$INCLUDE (%s)", err);
    CHECK(nrecs == 8, "eight records (%d)", nrecs);
    CHECK_STR(recs[0].owner, "www.sub.e.", "include with an origin");
    CHECK_STR(recs[1].owner, "www.sub.e.", "blank owner inside the include");
    CHECK_STR(recs[2].owner, "x.other.", "$ORIGIN inside the include");
    CHECK_STR(recs[3].owner, "after.e.", "origin restored after the include");
    CHECK_STR(recs[4].owner, "after.e.", "owner inherited after the include");
    CHECK(recs[5].ttl == 77, "$TTL from an include stays");
    CHECK_STR(recs[7].owner, "mid.e.", "the included file inherits the owner");
    CHECK(parse("$ORIGIN e.\n$INCLUDE hosts.inc\n") == 0 && nrecs == 3 &&
              strcmp(recs[0].owner, "www.e.") == 0, "include without an origin: the current");
    bad("$ORIGIN e.\n$INCLUDE nope.inc\n", "t.zone:2: $INCLUDE nope.inc: no such file",
        "unreadable include");
    bad("$ORIGIN e.\n$INCLUDE bad.inc\n", "bad.inc:3: bad IPv4 address '300.1.2.3'",
        "errors name the included file");
    bad("$ORIGIN e.\n$INCLUDE\n", "t.zone:2: $INCLUDE needs a file name", "no file name");
    bad("$ORIGIN e.\n$INCLUDE \"\"\n", "t.zone:2: bad $INCLUDE file name ''", "empty name");
    bad("$ORIGIN e.\n$INCLUDE a b c\n", "t.zone:2: unexpected 'c' after $INCLUDE's origin",
        "extra token");
    bad("$ORIGIN e.\n$INCLUDE loop.zone\n", "loop.zone:1: $INCLUDE nested more than 8 deep",
        "depth limit");
    reset();
    zp.on_include = NULL;
    CHECK(zone_parse_text(&zp, "$ORIGIN e.\n$INCLUDE hosts.inc\n", 29, err, sizeof err) == -1,
          "no reader: refused");
    CHECK_STR(err, "t.zone:2: $INCLUDE is not allowed here", "no reader: message");
}

int main(void)
{
    test_basic();
    test_origin();
    test_ttl();
    test_class_type();
    test_generic();
    test_txt();
    test_caa();
    test_rdata_errors();
    test_lexer();
    test_include();
    reset();
    return unit_done();
}
