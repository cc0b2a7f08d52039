/*
 * Unit test of servers/dns/wire.c and wire_build.c (RFC 1035 3.1, 4.1,
 * 4.1.4; RFC 6891 6.1): names in text and wire form (escapes, the root,
 * the 63 and 255 byte limits, case), loop-safe decompression against
 * forward pointers, loops, cut pointers and long chains; walking
 * messages and expanding
 * rdata; and the builder: exact compressed lengths, records that read
 * back unchanged, and truncation that leaves a valid message.  The DNS
 * server's sources are not in galecore, so they are compiled in here.
 * TAP output; exits non-zero when a check fails.
 */
#include "../../servers/dns/wire.c"
#include "../../servers/dns/wire_build.c"

#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "dns_raw.h"

/* ---- helpers ---- */

/* Uncompressed rdata in the caller's buffer; returns its length. */
static size_t rd_name(uint8_t *p, const char *text)
{
    struct dns_name n = name(text);
    memcpy(p, n.wire, n.len);
    return n.len;
}

/* What dns_walk_message saw, rdata expanded. */
struct seen {
    const uint8_t *msg;
    size_t len;
    int n, expand_failed;
    struct {
        enum dns_section sec;
        struct dns_name owner;
        uint16_t type, class;
        uint32_t ttl;
        uint8_t rd[700];
        int rdlen;
    } r[16];
};

static int collect(const struct dns_header *h, enum dns_section sec,
                   const struct dns_rr_view *rr, void *arg)
{
    struct seen *s = arg;
    (void)h;
    if (s->n == 16)
        return 99;
    s->r[s->n].sec = sec;
    s->r[s->n].owner = rr->owner;
    s->r[s->n].type = rr->type;
    s->r[s->n].class = rr->class;
    s->r[s->n].ttl = rr->ttl;
    s->r[s->n].rdlen = dns_rdata_expand(s->msg, s->len, rr, s->r[s->n].rd, 700);
    if (s->r[s->n].rdlen < 0)
        s->expand_failed++;
    s->n++;
    return 0;
}

static int walk(const uint8_t *msg, size_t len, struct dns_header *h, struct seen *s)
{
    memset(s, 0, sizeof *s);
    s->msg = msg;
    s->len = len;
    return dns_walk_message(msg, len, h, collect, s);
}

/* ---- names ---- */

static void round_trip(const char *in, const char *want)
{
    struct dns_name n;
    char buf[1100];
    int r = dns_name_from_text(in, strlen(in), &n);
    if (!CHECK(r == 0, "'%s' is a name", in))
        return;
    CHECK(dns_name_to_text(&n, buf, sizeof buf) == (int)strlen(want), "'%s' text length", in);
    CHECK_STR(buf, want, "'%s' reads back", in);
    struct dns_name back;
    CHECK(dns_name_from_text(buf, strlen(buf), &back) == 0 && back.len == n.len &&
              memcmp(back.wire, n.wire, n.len) == 0,
          "'%s' text parses to the same wire", want);
}

static void bad_text(const char *in, const char *why)
{
    struct dns_name n;
    CHECK(dns_name_from_text(in, strlen(in), &n) == -1, "'%s' refused: %s", in, why);
}

static void test_text(void)
{
    struct dns_name n = name("www.example.com.");
    CHECK(n.len == 17 && memcmp(n.wire, "\3www\7example\3com", 17) == 0, "wire form");
    round_trip("www.example.com.", "www.example.com.");
    round_trip("www.example.com", "www.example.com.");
    round_trip(".", ".");
    round_trip("", ".");
    n = name(".");
    CHECK(n.len == 1 && n.wire[0] == 0, "root is the zero label");
    round_trip("a\\.b.c", "a\\.b.c.");
    n = name("a\\.b.c");
    CHECK(n.len == 7 && n.wire[0] == 3 && n.wire[2] == '.', "escaped dot stays in the label");
    round_trip("\\065bc", "Abc.");
    round_trip("back\\\\slash", "back\\\\slash.");
    round_trip("\\000\\032\\127\\255x", "\\000\\032\\127\\255x.");
    round_trip("sp ace", "sp\\032ace.");
    round_trip("\\q", "q.");
    round_trip("Mixed.CASE", "Mixed.CASE.");
    bad_text("a..b", "empty label");
    bad_text(".a", "leading empty label");
    bad_text("..", "two dots");
    bad_text("a.b..", "empty label at the end");
    bad_text("a\\", "escape cut short");
    bad_text("\\25", "two digits");
    bad_text("\\2a5", "digit escape with a letter");
    bad_text("\\256", "over 255");
}

static void test_text_limits(void)
{
    struct dns_name n;
    char label[80], big[400];
    memset(label, 'x', 64);
    label[63] = '\0';
    n = name(label);
    CHECK(n.len == 65 && n.wire[0] == 63, "63-byte label accepted");
    label[63] = 'x';
    label[64] = '\0';
    bad_text(label, "64-byte label");
    /* 63+63+63+61 bytes of labels: 4 length bytes + 250 + root = 255. */
    memset(big, 'a', sizeof big);
    big[63] = big[127] = big[191] = '.';
    big[253] = '\0';
    CHECK(dns_name_from_text(big, strlen(big), &n) == 0 && n.len == 255, "255 bytes accepted");
    char tx[1100];
    CHECK(dns_name_to_text(&n, tx, sizeof tx) == 254, "255-byte name is 254 characters");
    big[253] = 'a';
    big[254] = '\0';
    bad_text(big, "256 bytes");
    big[253] = '.';
    CHECK(dns_name_from_text(big, 254, &n) == 0 && n.len == 255, "trailing dot on 255 bytes");
    memset(big, 'a', sizeof big);
    for (int i = 1; i < 300; i += 2)
        big[i] = '.';
    big[254] = '\0';        /* 127 one-byte labels: 254 + root */
    CHECK(dns_name_from_text(big, 254, &n) == 0 && n.len == 255, "127 labels");
    CHECK(dns_name_labels(&n) == 127, "127 labels counted");
    for (int i = 0; i < 256; i += 2)
        memcpy(big + i, "a.", 2);
    CHECK(dns_name_from_text(big, 256, &n) == -1, "128 labels refused");

    char small[8];
    n = name("abc.de");
    CHECK(dns_name_to_text(&n, small, 8) == 7 && strcmp(small, "abc.de.") == 0, "exact fit");
    CHECK(dns_name_to_text(&n, small, 7) == -1, "one byte short");
    n = name("a\\.");
    CHECK(dns_name_to_text(&n, small, 4) == -1, "escape does not fit");
    CHECK(dns_name_to_text(&n, small, 5) == 4 && strcmp(small, "a\\..") == 0, "escape fits");
    n = name(".");
    CHECK(dns_name_to_text(&n, small, 1) == -1, "root needs two bytes");
    CHECK(dns_name_to_text(&n, small, 0) == -1, "no room at all");
    n.len = 3;
    n.wire[0] = 5;
    CHECK(dns_name_to_text(&n, small, sizeof small) == -1, "malformed wire refused");
}

static void test_compare(void)
{
    struct dns_name a = name("WWW.Example.COM"), b = name("www.example.com."), c, out;
    CHECK(dns_name_eq(&a, &b), "case-insensitive equality");
    c = name("www.example.co");
    CHECK(!dns_name_eq(&a, &c), "different names differ");
    c = name("www.example.com.x");
    CHECK(!dns_name_eq(&a, &c), "longer name differs");
    c = name("ww[.example.com");      /* '[' + 32 is '{': only A-Z fold */
    out = name("ww{.example.com");
    CHECK(!dns_name_eq(&out, &c), "only ASCII letters fold");
    c = name("a@");
    out = name("a`");
    CHECK(!dns_name_eq(&out, &c), "'@' is not '`'");
    c = name("\\192.example.com");
    out = name("\\224.example.com");
    CHECK(!dns_name_eq(&c, &out), "bytes above 127 do not fold");
    dns_name_lower(&a);
    CHECK(a.len == b.len && memcmp(a.wire, b.wire, a.len) == 0, "lowered");
    CHECK_STR(text_of(&a), "www.example.com.", "lowered text");
}

static void test_labels_under(void)
{
    struct dns_name b = name("www.example.com."), c, out;
    CHECK(dns_name_labels(&b) == 3, "three labels");
    c = name(".");
    CHECK(dns_name_labels(&c) == 0, "root has none");

    struct dns_name zone = name("example.com");
    CHECK(dns_name_is_under(&b, &zone), "www.example.com under example.com");
    CHECK(dns_name_is_under(&zone, &zone), "a zone is under itself");
    c = name("EXAMPLE.com");
    CHECK(dns_name_is_under(&b, &c), "under, ignoring case");
    c = name("wwwexample.com");
    CHECK(!dns_name_is_under(&c, &zone), "not under by string suffix");
    c = name("com");
    CHECK(!dns_name_is_under(&c, &zone), "parent not under child");
    c = name("example.org");
    CHECK(!dns_name_is_under(&b, &c), "other zone");
    c = name(".");
    CHECK(dns_name_is_under(&b, &c), "everything is under the root");

    struct dns_name rel = { 4, { 3, 'w', 'w', 'w' } };
    CHECK(dns_name_concat(&rel, &zone, &out) == 0 && dns_name_eq(&out, &b), "www + example.com");
    struct dns_name empty = { 0, { 0 } };
    CHECK(dns_name_concat(&empty, &zone, &out) == 0 && dns_name_eq(&out, &zone),
          "empty relative name is the origin");
    CHECK(dns_name_concat(&rel, &zone, &zone) == 0 && dns_name_eq(&zone, &b),
          "out may be the origin");
    struct dns_name absolute = name("www");
    CHECK(dns_name_concat(&absolute, &zone, &out) == -1, "an absolute name is not relative");
    struct dns_name long_rel;
    memset(long_rel.wire, 'a', sizeof long_rel.wire);
    long_rel.wire[0] = long_rel.wire[64] = long_rel.wire[128] = long_rel.wire[192] = 63;
    long_rel.len = 244;     /* 4 labels: 64*3 + 52 bytes, the last one cut */
    long_rel.wire[192] = 51;
    zone = name("example.com");
    CHECK(dns_name_concat(&long_rel, &zone, &out) == -1, "244 + 13 bytes is too long");
    long_rel.len = 242;
    long_rel.wire[192] = 49;
    CHECK(dns_name_concat(&long_rel, &zone, &out) == 0 && out.len == 255, "242 + 13 fits");

    CHECK(dns_name_parent(&b, &out) == 0 && dns_name_eq(&out, &zone), "parent of www");
    c = name("com");
    CHECK(dns_name_parent(&c, &out) == 0 && out.len == 1, "parent of a TLD is the root");
    CHECK(dns_name_parent(&out, &out) == -1, "the root has no parent");
    out = b;
    CHECK(dns_name_parent(&out, &out) == 0 && dns_name_eq(&out, &zone), "out may be n");
}

/* ---- reading names ---- */

static void test_read_name(void)
{
    struct raw r;
    struct dns_name n;
    size_t off;

    header(&r, 1, 0, 0, 0, 0, 0);
    putname(&r, "example.com");            /* 12..24 */
    put8(&r, 3); r.b[r.n++] = 'w'; r.b[r.n++] = 'w'; r.b[r.n++] = 'w';
    put16(&r, 0xC000 | 12);                /* www + ptr: 25..30 */
    put16(&r, 0xC000 | 25);                /* ptr to ptr: 31..32 */
    off = 12;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == 0 && off == 25, "plain name, offset past it");
    CHECK_STR(text_of(&n), "example.com.", "plain name");
    off = 25;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == 0 && off == 31, "offset past the pointer");
    CHECK_STR(text_of(&n), "www.example.com.", "compressed name");
    off = 31;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == 0 && off == 33, "pointer to a pointer");
    CHECK_STR(text_of(&n), "www.example.com.", "two jumps");
    off = 31;
    CHECK(dns_read_name(r.b, 32, &off, &n) == -1 && n.len == 0, "pointer cut in half");
    off = 12;
    CHECK(dns_read_name(r.b, 20, &off, &n) == -1, "label running past the end");
    off = 12;
    CHECK(dns_read_name(r.b, 12, &off, &n) == -1 && off == 12, "nothing to read");
}

static void test_read_loops(void)
{
    struct raw r;
    struct dns_name n;
    size_t off;
    header(&r, 1, 0, 0, 0, 0, 0);
    put16(&r, 0xC000 | 14);                /* 12: forward to 14 */
    putname(&r, "a");                      /* 14..16 */
    off = 12;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == -1, "forward pointer refused");
    header(&r, 1, 0, 0, 0, 0, 0);
    put16(&r, 0xC000 | 12);
    off = 12;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == -1, "pointer to itself refused");
    header(&r, 1, 0, 0, 0, 0, 0);
    put16(&r, 0xC000 | 14);                /* 12 -> 14 */
    put16(&r, 0xC000 | 12);                /* 14 -> 12 */
    off = 14;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == -1, "two-pointer loop refused");
    off = 12;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == -1, "two-pointer loop from the other end");
    header(&r, 1, 0, 0, 0, 0, 0);
    putname(&r, "a");                      /* 12..14 is "1a 0"; */
    r.n--;                                 /* ...made "1a" then a pointer back to 12 */
    put16(&r, 0xC000 | 12);
    off = 12;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == -1, "pointer into the name itself refused");
    header(&r, 1, 0, 0, 0, 0, 0);
    putname(&r, "b");                      /* 12..14 */
    put8(&r, 1); put8(&r, 'a');            /* 15..16 */
    put16(&r, 0xC000 | 15);                /* 17: back to 15, before the pointer */
    put16(&r, 0xC000 | 15);                /* 19: the name starts with a jump to 15 */
    off = 19;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == -1, "loop through earlier labels refused");
    header(&r, 1, 0, 0, 0, 0, 0);
    put16(&r, 0xC000 | 0x3FFF);
    off = 12;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == -1, "pointer past the end refused");
}

static void test_read_limits(void)
{
    struct raw r;
    struct dns_name n;
    size_t off;
    /* A chain: the root at 12, then pointers each to the one before. */
    header(&r, 1, 0, 0, 0, 0, 0);
    put8(&r, 0);
    for (int i = 0; i < 130; i++)
        put16(&r, 0xC000 | (i == 0 ? 12 : 13 + 2 * (i - 1)));
    off = 13 + 2 * 127;                    /* the 128th pointer */
    CHECK(dns_read_name(r.b, r.n, &off, &n) == 0 && n.len == 1, "128 jumps followed");
    off = 13 + 2 * 128;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == -1, "129 jumps refused");

    header(&r, 1, 0, 0, 0, 0, 0);
    put8(&r, 0x41); put8(&r, 0);
    off = 12;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == -1, "label type 01 refused");
    header(&r, 1, 0, 0, 0, 0, 0);
    put8(&r, 0x80); put8(&r, 0);
    off = 12;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == -1, "label type 10 refused");

    /* 4 x 63-byte labels: 256 with the root, even when spread by pointers. */
    header(&r, 1, 0, 0, 0, 0, 0);
    put8(&r, 63); memset(r.b + r.n, 'x', 63); r.n += 63; put8(&r, 0);     /* 12 */
    put8(&r, 63); memset(r.b + r.n, 'y', 63); r.n += 63; put16(&r, 0xC000 | 12);  /* 77 */
    put8(&r, 63); memset(r.b + r.n, 'z', 63); r.n += 63; put16(&r, 0xC000 | 77);  /* 143 */
    size_t at = r.n;
    put8(&r, 61); memset(r.b + r.n, 'w', 61); r.n += 61; put16(&r, 0xC000 | 143);
    off = at;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == 0 && n.len == 255, "255 bytes via pointers");
    r.b[at] = 62;
    r.n = at + 63;
    put16(&r, 0xC000 | 143);
    off = at;
    CHECK(dns_read_name(r.b, r.n, &off, &n) == -1, "256 bytes via pointers refused");
}

/* ---- building ---- */

static struct dns_query query_for(const char *qname, uint16_t qtype, uint16_t flags)
{
    struct raw r;
    struct dns_query q;
    header(&r, 0xABCD, flags, 1, 0, 0, 0);
    question(&r, qname, qtype);
    if (dns_parse_query(r.b, r.n, &q) != 0)
        printf("# query for %s did not parse\n", qname);
    return q;
}

static const uint8_t a1[4] = { 192, 0, 2, 1 }, a2[4] = { 192, 0, 2, 2 }, a3[4] = { 192, 0, 2, 53 };

/* The example of test_build_exact, into a buffer of cap bytes. */
static size_t build_example(uint8_t *buf, size_t cap, struct dns_builder *b, int *fails)
{
    struct dns_query q = query_for("www.example.com", DNS_T_A, DNS_F_RD);
    struct dns_name www = name("www.example.com"), zone = name("example.com");
    struct dns_name ns1 = name("ns1.example.com");
    uint8_t nsrd[64];
    size_t nslen = rd_name(nsrd, "ns1.example.com");
    *fails = 0;
    dns_builder_init(b, buf, cap);
    *fails += dns_begin_answer(b, &q, DNS_F_AA, DNS_R_NOERROR) != 0;
    *fails += dns_add_rr(b, DNS_S_ANSWER, &www, DNS_T_A, DNS_C_IN, 300, a1, 4) != 0;
    *fails += dns_add_rr(b, DNS_S_ANSWER, &www, DNS_T_A, DNS_C_IN, 300, a2, 4) != 0;
    *fails += dns_add_rr(b, DNS_S_AUTHORITY, &zone, DNS_T_NS, DNS_C_IN, 3600, nsrd,
                         (uint16_t)nslen) != 0;
    *fails += dns_add_rr(b, DNS_S_ADDITIONAL, &ns1, DNS_T_A, DNS_C_IN, 3600, a3, 4) != 0;
    *fails += dns_add_opt(b, DNS_EDNS_PAYLOAD, 1, 0) != 0;
    return dns_finish(b);
}

static void test_build_exact(void)
{
    uint8_t buf[512];
    struct dns_builder b;
    struct dns_header h;
    struct seen s;
    int fails;
    /* 12 header + 17 qname + 4; two A: 2+10+4 each; NS: 2+10+(4+2);
     * A for ns1: 2+10+4 (the whole owner points into the NS rdata); OPT 11. */
    size_t len = build_example(buf, sizeof buf, &b, &fails);
    CHECK(fails == 0 && !b.truncated, "every record fits");
    CHECK(len == 110, "compressed length is 110 (got %zu)", len);
    CHECK(buf[2] == 0x85 && buf[3] == 0x00, "QR, AA and RD set, NOERROR");
    CHECK(buf[0] == 0xAB && buf[1] == 0xCD, "the client's id");
    CHECK(buf[33] == 0xC0 && buf[34] == 12, "answer owner points at the question");
    CHECK(buf[65] == 0xC0 && buf[66] == 16, "NS owner points at example.com in the question");
    CHECK(buf[75] == 0 && buf[76] == 6, "NS rdlen is 6 after compression");
    CHECK(buf[83] == 0xC0 && buf[84] == 77, "glue owner points into the NS rdata");
    CHECK(walk(buf, len, &h, &s) == 0, "the answer walks");
    CHECK(h.qdcount == 1 && h.ancount == 2 && h.nscount == 1 && h.arcount == 2, "counts");
    CHECK(s.n == 5 && s.expand_failed == 0, "five records, all expand");
    if (s.n != 5)
        return;
    struct dns_name www = name("www.example.com"), ns1 = name("ns1.example.com");
    CHECK(s.r[0].sec == DNS_S_ANSWER && dns_name_eq(&s.r[0].owner, &www) &&
              s.r[0].type == DNS_T_A && s.r[0].ttl == 300 && s.r[0].rdlen == 4 &&
              memcmp(s.r[0].rd, a1, 4) == 0,
          "first A");
    CHECK(s.r[1].rdlen == 4 && memcmp(s.r[1].rd, a2, 4) == 0, "second A");
    CHECK(s.r[2].sec == DNS_S_AUTHORITY && s.r[2].type == DNS_T_NS && s.r[2].rdlen == 17 &&
              memcmp(s.r[2].rd, ns1.wire, 17) == 0 && s.r[2].ttl == 3600,
          "NS expands to ns1.example.com");
    CHECK_STR(text_of(&s.r[2].owner), "example.com.", "NS owner");
    CHECK(s.r[3].sec == DNS_S_ADDITIONAL && dns_name_eq(&s.r[3].owner, &ns1) &&
              memcmp(s.r[3].rd, a3, 4) == 0,
          "glue A");
    CHECK(s.r[4].type == DNS_T_OPT && s.r[4].class == DNS_EDNS_PAYLOAD &&
              s.r[4].ttl == 0x8000 && s.r[4].owner.len == 1 && s.r[4].rdlen == 0,
          "OPT: payload, DO, root owner");
}

static void test_build_truncate(void)
{
    uint8_t buf[512];
    struct dns_builder b;
    struct dns_header h;
    struct seen s;
    int fails;
    /* 33 + 16 = 49 for one A; the second needs 65; OPT's 11 still fit in 60. */
    size_t len = build_example(buf, 60, &b, &fails);
    CHECK(b.truncated, "truncated set");
    CHECK(fails == 3, "second A, NS and glue did not fit (%d failures)", fails);
    CHECK(len == 60, "60 bytes used (got %zu)", len);
    CHECK(walk(buf, len, &h, &s) == 0, "the truncated answer walks");
    CHECK(h.ancount == 1 && h.nscount == 0 && h.arcount == 1 && s.n == 2, "fewer records");
    CHECK(s.n == 2 && s.r[0].type == DNS_T_A && s.r[1].type == DNS_T_OPT, "A then OPT");
    CHECK(!(h.flags & DNS_F_TC), "TC left to the caller");

    for (size_t cap = 0; cap <= 110; cap++) {
        len = build_example(buf, cap, &b, &fails);
        if (cap < 33) {
            /* From 23 bytes on, the OPT fits after the bare header. */
            size_t want = cap < 12 ? 0 : cap < 23 ? 12 : 23;
            CHECK(len == want && fails == 6 - (cap >= 23), "cap %zu: no question", cap);
            continue;
        }
        int ok = len <= cap && walk(buf, len, &h, &s) == 0 && s.expand_failed == 0 &&
                 s.n == 5 - fails && (fails == 0) == !b.truncated;
        CHECK(ok, "cap %zu: %zu bytes, %d records dropped, walks", cap, len, fails);
    }
}

static void test_build_refusals(void)
{
    uint8_t buf[512];
    struct dns_builder b;
    struct dns_query q = query_for("www.example.com", DNS_T_A, 0);
    struct dns_name www = name("www.example.com");
    dns_builder_init(&b, buf, sizeof buf);
    dns_begin_answer(&b, &q, 0, 0);
    CHECK(dns_add_rr(&b, DNS_S_AUTHORITY, &www, DNS_T_A, 1, 0, a1, 4) == 0, "authority");
    CHECK(dns_add_rr(&b, DNS_S_ANSWER, &www, DNS_T_A, 1, 0, a1, 4) == -1 && !b.truncated,
          "answer after authority refused, not truncation");
    uint8_t bad[3] = { 5, 'a', 0 };
    size_t before = b.len;
    CHECK(dns_add_rr(&b, DNS_S_AUTHORITY, &www, DNS_T_NS, 1, 0, bad, 3) == -1 &&
              !b.truncated && b.len == before,
          "NS rdata that is no name refused, nothing written");
    uint8_t cmp[5] = { 1, 'a', 0xC0, 12 };
    CHECK(dns_add_rr(&b, DNS_S_AUTHORITY, &www, DNS_T_CNAME, 1, 0, cmp, 4) == -1,
          "compressed rdata from the caller refused");
    uint8_t extra[4] = { 1, 'a', 0, 0 };
    CHECK(dns_add_rr(&b, DNS_S_AUTHORITY, &www, DNS_T_PTR, 1, 0, extra, 4) == -1,
          "PTR with a byte after the name refused");
    CHECK(dns_add_rr(&b, DNS_S_AUTHORITY, &www, DNS_T_MX, 1, 0, extra, 1) == -1,
          "MX shorter than its preference refused");
    struct dns_name broken = { 2, { 1, 'a' } };
    CHECK(dns_add_rr(&b, DNS_S_AUTHORITY, &broken, DNS_T_A, 1, 0, a1, 4) == -1,
          "malformed owner refused");
    CHECK(dns_add_rr(&b, DNS_S_AUTHORITY, &www, DNS_T_A, 1, 0, NULL, 4) == -1,
          "rdata NULL with a length refused");
    CHECK(b.len == before && b.hdr.nscount == 1, "message unchanged by refusals");
}

static void test_build_header(void)
{
    uint8_t buf[64];
    struct dns_builder b;
    struct dns_query q = query_for("Www.Example.Com", DNS_T_MX, DNS_F_RD | DNS_F_CD);
    dns_builder_init(&b, buf, sizeof buf);
    CHECK(dns_begin_answer(&b, &q, DNS_F_AA, DNS_R_NXDOMAIN) == 0, "begin");
    size_t len = dns_finish(&b);
    CHECK(len == 33, "header and question only");
    CHECK(buf[2] == 0x85 && buf[3] == 0x03, "QR AA RD, NXDOMAIN (CD not copied)");
    CHECK(memcmp(buf + 12, "\3Www\7Example\3Com\0", 17) == 0, "question as the client sent it");
    CHECK(buf[29] == 0 && buf[30] == DNS_T_MX && buf[31] == 0 && buf[32] == 1, "qtype, qclass");

    struct raw r;
    header(&r, 0x5555, 4 << 11, 1, 0, 0, 0);
    question(&r, "example.com", DNS_T_SOA);
    dns_parse_query(r.b, r.n, &q);
    dns_begin_answer(&b, &q, DNS_F_AA | 0x7800 | 0xF, DNS_R_NOERROR);
    dns_finish(&b);
    CHECK(buf[2] == (0x80 | 4 << 3 | 0x04) && buf[3] == 0x00,
          "NOTIFY opcode copied, flags cannot overwrite opcode or rcode");

    header(&r, 0x6666, DNS_F_RD, 2, 0, 0, 0);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "FORMERR query");
    dns_begin_answer(&b, &q, 0, DNS_R_FORMERR);
    len = dns_finish(&b);
    CHECK(len == 12 && buf[0] == 0x66 && buf[1] == 0x66 && buf[3] == DNS_R_FORMERR &&
              buf[4] == 0 && buf[5] == 0,
          "FORMERR answer: the id, no question");

    q = query_for("example.com", DNS_T_A, 0);
    dns_builder_init(&b, buf, 20);
    CHECK(dns_begin_answer(&b, &q, 0, 0) == -1 && b.truncated && dns_finish(&b) == 12,
          "question does not fit: header alone");
    dns_builder_init(&b, buf, 11);
    CHECK(dns_begin_answer(&b, &q, 0, 0) == -1 && dns_finish(&b) == 0, "header does not fit");
    CHECK(dns_add_rr(&b, DNS_S_ANSWER, &q.qname, DNS_T_A, 1, 0, a1, 4) == -1,
          "no records before a header");
}

/* Each record type built, walked and expanded back to the same rdata. */
static void test_rdata_round_trip(void)
{
    static uint8_t soa[128], mx[64], srv[64], txt[16], cname[64], caa[32], ptr[64], aaaa[16];
    size_t soalen = rd_name(soa, "ns1.example.com");
    soalen += rd_name(soa + soalen, "hostmaster.example.com");
    for (int i = 0; i < 20; i++)
        soa[soalen + i] = (uint8_t)(i + 1);
    soalen += 20;
    size_t mxlen = 2 + rd_name(mx + 2, "mail.example.com");
    mx[0] = 0;
    mx[1] = 10;
    size_t srvlen = 6 + rd_name(srv + 6, "sip.example.com");
    memcpy(srv, "\0\1\0\2\x13\xc4", 6);
    memcpy(txt, "\5hello\5world", 12);
    size_t cnamelen = rd_name(cname, "www.example.com");
    memcpy(caa, "\0\5issueca.example", 17);
    size_t ptrlen = rd_name(ptr, "host.example.com");
    aaaa[0] = 0x20; aaaa[1] = 0x01; aaaa[2] = 0x0d; aaaa[3] = 0xb8; aaaa[15] = 1;
    const struct { uint16_t type; const uint8_t *rd; size_t len; const char *what; } recs[] = {
        { DNS_T_SOA, soa, soalen, "SOA" },     { DNS_T_MX, mx, mxlen, "MX" },
        { DNS_T_SRV, srv, srvlen, "SRV" },     { DNS_T_TXT, txt, 12, "TXT" },
        { DNS_T_CNAME, cname, cnamelen, "CNAME" }, { DNS_T_CAA, caa, 17, "CAA" },
        { DNS_T_PTR, ptr, ptrlen, "PTR" },     { DNS_T_AAAA, aaaa, 16, "AAAA" },
    };
    const size_t n = sizeof recs / sizeof recs[0];
    uint8_t buf[1024];
    struct dns_builder b;
    struct dns_query q = query_for("example.com", DNS_T_ANY, 0);
    struct dns_name owner = name("EXAMPLE.com");
    dns_builder_init(&b, buf, sizeof buf);
    dns_begin_answer(&b, &q, DNS_F_AA, 0);
    for (size_t i = 0; i < n; i++)
        CHECK(dns_add_rr(&b, DNS_S_ANSWER, &owner, recs[i].type, DNS_C_IN, (uint32_t)(i + 1),
                         recs[i].rd, (uint16_t)recs[i].len) == 0,
              "%s added", recs[i].what);
    size_t len = dns_finish(&b);
    /* SOA: mname 4+2 and rname 11+2 after compression, instead of 17 + 24. */
    CHECK(buf[29 + 10] == 0 && buf[29 + 11] == 39, "SOA rdlen 39 compressed");
    struct seen s;
    struct dns_header h;
    CHECK(walk(buf, len, &h, &s) == 0 && s.n == (int)n && s.expand_failed == 0,
          "all records walk and expand");
    for (size_t i = 0; i < n && (int)i < s.n; i++) {
        CHECK(s.r[i].type == recs[i].type && s.r[i].ttl == i + 1 && s.r[i].class == DNS_C_IN,
              "%s type, class, ttl", recs[i].what);
        CHECK(s.r[i].rdlen == (int)recs[i].len && memcmp(s.r[i].rd, recs[i].rd, recs[i].len) == 0,
              "%s rdata round trip", recs[i].what);
        CHECK(s.r[i].owner.len == 13 && memcmp(s.r[i].owner.wire, "\7example\3com", 13) == 0,
              "%s owner takes the question's case", recs[i].what);
    }
    /* SRV's target is never compressed: its 15 name bytes are all there. */
    const uint8_t *p = memmem(buf, len, "\3sip\7example\3com", 17);
    CHECK(p != NULL, "SRV target written whole");
    p = memmem(buf, len, "\4mail\300", 6);
    CHECK(p != NULL, "MX exchange compressed");
}

static void test_expand_bad(void)
{
    struct raw r;
    struct dns_rr_view rr;
    uint8_t out[300];
    header(&r, 1, DNS_F_QR, 0, 1, 0, 0);
    putname(&r, "example.com");                /* 12..24 */
    memset(&rr, 0, sizeof rr);
    rr.type = DNS_T_NS;
    rr.rdata_off = 12;
    rr.rdlen = 13;
    rr.rdata = r.b + 12;
    CHECK(dns_rdata_expand(r.b, r.n, &rr, out, sizeof out) == 13, "NS expands");
    CHECK(dns_rdata_expand(r.b, r.n, &rr, out, 12) == -1, "out one byte short");
    CHECK(dns_rdata_expand(r.b, r.n, &rr, out, 13) == 13, "out exactly enough");
    rr.rdlen = 12;
    CHECK(dns_rdata_expand(r.b, r.n, &rr, out, sizeof out) == -1, "name past the rdata");
    rr.rdlen = 14;
    CHECK(dns_rdata_expand(r.b, r.n, &rr, out, sizeof out) == -1, "rdata past the message");
    put8(&r, 0);
    CHECK(dns_rdata_expand(r.b, r.n, &rr, out, sizeof out) == -1, "byte after the NS name");
    rr.type = DNS_T_SOA;
    rr.rdlen = 13;
    CHECK(dns_rdata_expand(r.b, r.n, &rr, out, sizeof out) == -1, "SOA with one name");
    rr.type = DNS_T_MX;
    CHECK(dns_rdata_expand(r.b, r.n, &rr, out, sizeof out) == -1, "MX with a bad name");
    rr.type = DNS_T_TXT;
    CHECK(dns_rdata_expand(r.b, r.n, &rr, out, sizeof out) == 13, "TXT copied as is");
    CHECK(dns_rdata_expand(r.b, r.n, &rr, out, 5) == -1, "TXT does not fit");
    rr.rdata_off = 1000;
    CHECK(dns_rdata_expand(r.b, r.n, &rr, out, sizeof out) == -1, "rdata offset past the end");

    /* A pointer in the rdata to a loop before it. */
    header(&r, 1, DNS_F_QR, 0, 0, 0, 0);
    put16(&r, 0xC000 | 14);
    put16(&r, 0xC000 | 12);
    size_t at = r.n;
    put16(&r, 0xC000 | 14);
    rr.type = DNS_T_CNAME;
    rr.rdata_off = at;
    rr.rdlen = 2;
    CHECK(dns_rdata_expand(r.b, r.n, &rr, out, sizeof out) == -1, "looping rdata name");
}

static int stop_at_two(const struct dns_header *h, enum dns_section sec,
                       const struct dns_rr_view *rr, void *arg)
{
    int *count = arg;
    (void)h, (void)sec, (void)rr;
    return ++*count == 2 ? 42 : 0;
}

static void test_walk(void)
{
    uint8_t buf[512];
    struct dns_builder b;
    struct dns_header h;
    int fails, count = 0;
    size_t len = build_example(buf, sizeof buf, &b, &fails);
    CHECK(dns_walk_message(buf, len, &h, stop_at_two, &count) == 42 && count == 2,
          "a callback's value stops the walk");
    CHECK(dns_walk_message(buf, len, NULL, NULL, NULL) == 0, "no header, no callback");
    CHECK(dns_walk_message(buf, len - 1, &h, NULL, NULL) == -1, "cut message");
    CHECK(dns_walk_message(buf, 11, &h, NULL, NULL) == -1, "short message");
    buf[11]++;
    CHECK(dns_walk_message(buf, len, &h, NULL, NULL) == -1, "ARCOUNT too high");
    buf[11]--;
    buf[4] = 1;
    CHECK(dns_walk_message(buf, len, &h, NULL, NULL) == -1, "QDCOUNT 257");
    buf[4] = 0;
    buf[34] = 40;           /* the first answer's owner pointer, forward */
    CHECK(dns_walk_message(buf, len, &h, NULL, NULL) == -1, "forward owner pointer");
}

int main(void)
{
    test_text();
    test_text_limits();
    test_compare();
    test_labels_under();
    test_read_name();
    test_read_loops();
    test_read_limits();
    test_build_exact();
    test_build_truncate();
    test_build_refusals();
    test_build_header();
    test_rdata_round_trip();
    test_expand_bad();
    test_walk();
    return unit_done();
}
