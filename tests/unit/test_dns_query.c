/*
 * Unit test of dns_parse_query (servers/dns/wire.c; RFC 1035 4.1, RFC
 * 6891 6.1, RFC 1995 3): queries with EDNS0, NOTIFY, IXFR with the
 * client's SOA, and every FORMERR and drop case.  TAP output; exits
 * non-zero when a check fails.
 */
#include "../../servers/dns/wire.c"

#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "dns_raw.h"

/* ---- parsing queries ---- */

static void test_query_good(void)
{
    struct raw r;
    struct dns_query q;
    header(&r, 0xBEEF, DNS_F_RD, 1, 0, 0, 0);
    question(&r, "WwW.Example.com", DNS_T_AAAA);
    CHECK(dns_parse_query(r.b, r.n, &q) == 0, "plain query");
    CHECK(q.hdr.id == 0xBEEF && q.opcode == DNS_OP_QUERY, "id and opcode");
    CHECK(q.qtype == DNS_T_AAAA && q.qclass == DNS_C_IN, "qtype and qclass");
    CHECK(q.qname.len == 17 && memcmp(q.qname.wire, "\3WwW\7Example\3com", 17) == 0,
          "qname kept as sent, case and all");
    CHECK(q.question_end == r.n && !q.has_edns, "question end, no EDNS");

    size_t plain = r.n;
    put8(&r, 0xde); put8(&r, 0xad);
    CHECK(dns_parse_query(r.b, r.n, &q) == 0 && q.question_end == plain,
          "trailing bytes ignored");

    header(&r, 7, 0, 1, 0, 0, 1);
    question(&r, "example.com", DNS_T_A);
    opt(&r, 4096, 0x8000);
    CHECK(dns_parse_query(r.b, r.n, &q) == 0, "query with EDNS");
    CHECK(q.has_edns && q.edns_payload == 4096 && q.edns_do && q.edns_version == 0,
          "payload 4096, DO set, version 0");
    header(&r, 7, 0, 1, 0, 0, 1);
    question(&r, "example.com", DNS_T_A);
    opt(&r, 100, 0x00010000);
    CHECK(dns_parse_query(r.b, r.n, &q) == 0 && q.edns_payload == 512 && !q.edns_do &&
              q.edns_version == 1,
          "payload under 512 raised, version 1, no DO");

    /* An option in the OPT rdata, and another record in the additional section. */
    header(&r, 7, 0, 1, 0, 0, 2);
    question(&r, "example.com", DNS_T_A);
    putname(&r, "key.example");
    put16(&r, 250); put16(&r, 255); put32(&r, 0); put16(&r, 3);
    put8(&r, 1); put8(&r, 2); put8(&r, 3);
    put8(&r, 0); put16(&r, DNS_T_OPT); put16(&r, 1232); put32(&r, 0);
    put16(&r, 8); put16(&r, 10); put16(&r, 4); put32(&r, 0x01020304);   /* a cookie-ish option */
    CHECK(dns_parse_query(r.b, r.n, &q) == 0 && q.has_edns && q.edns_payload == 1232,
          "other additional records skipped, OPT with an option");

    header(&r, 9, 4 << 11 | DNS_F_AA, 1, 1, 0, 0);
    question(&r, "example.com", DNS_T_SOA);
    put16(&r, 0xC000 | 12); put16(&r, DNS_T_SOA); put16(&r, DNS_C_IN); put32(&r, 60);
    size_t rdl = r.n;
    put16(&r, 0);
    putname(&r, "ns.example.com"); put16(&r, 0xC000 | 12);
    for (int i = 0; i < 5; i++)
        put32(&r, (uint32_t)i);
    r.b[rdl + 1] = (uint8_t)(r.n - rdl - 2);
    CHECK(dns_parse_query(r.b, r.n, &q) == 0 && q.opcode == DNS_OP_NOTIFY,
          "NOTIFY with an answer SOA");
}

static void test_query_bad(void)
{
    struct raw r;
    struct dns_query q;
    header(&r, 0x1234, 0, 1, 0, 0, 0);
    CHECK(dns_parse_query(r.b, 11, &q) == -1, "11 bytes dropped");
    CHECK(dns_parse_query(r.b, 0, &q) == -1, "nothing dropped");
    header(&r, 0x1234, DNS_F_QR, 1, 0, 0, 0);
    question(&r, "example.com", DNS_T_A);
    CHECK(dns_parse_query(r.b, r.n, &q) == -1, "a response is dropped");

    header(&r, 0x1234, 0, 0, 0, 0, 0);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR && q.hdr.id == 0x1234 &&
              q.qname.len == 0 && q.question_end == 0,
          "QDCOUNT 0: FORMERR with the id");
    header(&r, 0x1235, DNS_F_RD, 2, 0, 0, 0);
    question(&r, "a.example", DNS_T_A);
    question(&r, "b.example", DNS_T_A);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR && q.hdr.id == 0x1235 &&
              (q.hdr.flags & DNS_F_RD),
          "QDCOUNT 2: FORMERR with id and flags");

    header(&r, 0x4321, 0, 1, 0, 0, 0);
    question(&r, "example.com", DNS_T_A);
    for (size_t cut = 13; cut < r.n; cut += 3) {
        CHECK(dns_parse_query(r.b, cut, &q) == DNS_R_FORMERR && q.hdr.id == 0x4321 &&
                  q.qname.len == 0,
              "question cut at %zu: FORMERR, id kept, no qname", cut);
    }
    CHECK(dns_parse_query(r.b, r.n - 1, &q) == DNS_R_FORMERR, "qclass cut by one byte");
}

static void test_query_bad_records(void)
{
    struct raw r;
    struct dns_query q;
    header(&r, 1, 0, 1, 0, 0, 2);
    question(&r, "example.com", DNS_T_A);
    opt(&r, 1232, 0);
    opt(&r, 1232, 0);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "two OPT records: FORMERR");
    header(&r, 1, 0, 1, 0, 0, 1);
    question(&r, "example.com", DNS_T_A);
    putname(&r, "x");
    put16(&r, DNS_T_OPT); put16(&r, 1232); put32(&r, 0); put16(&r, 0);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "OPT with an owner: FORMERR");
    header(&r, 1, 0, 1, 0, 0, 1);
    question(&r, "example.com", DNS_T_A);
    put8(&r, 0); put16(&r, DNS_T_OPT); put16(&r, 1232); put32(&r, 0);
    put16(&r, 5); put16(&r, 10); put16(&r, 4); put8(&r, 0);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "OPT option overruns: FORMERR");
    header(&r, 1, 0, 1, 0, 0, 1);
    question(&r, "example.com", DNS_T_A);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "ARCOUNT 1 with nothing there");
    header(&r, 1, 0, 1, 0, 0, 1);
    question(&r, "example.com", DNS_T_A);
    put8(&r, 0); put16(&r, DNS_T_A); put16(&r, 1); put32(&r, 0); put16(&r, 4); put8(&r, 1);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "rdata past the end");
    header(&r, 1, 0, 1, 1, 0, 0);
    question(&r, "example.com", DNS_T_A);
    put16(&r, 0xC00C); put16(&r, DNS_T_A); put16(&r, 1); put32(&r, 0); put16(&r, 4);
    put32(&r, 0);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "QUERY with an answer: FORMERR");
    header(&r, 1, 4 << 11, 1, 1, 0, 0);
    question(&r, "example.com", DNS_T_SOA);
    opt(&r, 1232, 0);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "OPT in the answer: FORMERR");
    header(&r, 1, 4 << 11, 1, 1, 0, 0);
    question(&r, "example.com", DNS_T_SOA);
    put16(&r, 0xC00C);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "NOTIFY with a cut answer");
    header(&r, 1, 0, 1, 0, 0, 0);
    put16(&r, 0xC00C); put16(&r, 1); put16(&r, 1);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "qname pointing at itself");
}

/* An IXFR's authority SOA: its owner, then mname and rname (compressed
 * or not), then serial and four more numbers; returns where its rdlength is. */
static size_t ixfr_soa(struct raw *r, const char *owner, unsigned type, uint32_t serial)
{
    if (owner)
        putname(r, owner);
    else
        put16(r, 0xC000 | 12);
    put16(r, type); put16(r, DNS_C_IN); put32(r, 300);
    size_t rdl = r->n;
    put16(r, 0);
    putname(r, "ns.example.com"); put16(r, 0xC000 | 12);
    put32(r, serial);
    for (int i = 0; i < 4; i++)
        put32(r, 3600);
    r->b[rdl + 1] = (uint8_t)(r->n - rdl - 2);
    return rdl;
}

static void test_ixfr(void)
{
    struct raw r;
    struct dns_query q;
    header(&r, 5, 0, 1, 0, 1, 0);
    question(&r, "example.com", DNS_T_IXFR);
    ixfr_soa(&r, NULL, DNS_T_SOA, 2024010101);
    CHECK(dns_parse_query(r.b, r.n, &q) == 0 && q.has_ixfr_serial &&
              q.ixfr_serial == 2024010101,
          "IXFR as dig sends it: the client's serial");
    header(&r, 5, 0, 1, 0, 1, 1);
    question(&r, "example.com", DNS_T_IXFR);
    ixfr_soa(&r, "EXAMPLE.com", DNS_T_SOA, 7);
    opt(&r, 1232, 0);
    CHECK(dns_parse_query(r.b, r.n, &q) == 0 && q.ixfr_serial == 7 && q.has_edns,
          "an uncompressed owner in another case, and EDNS after it");
    header(&r, 5, 0, 1, 0, 0, 0);
    question(&r, "example.com", DNS_T_IXFR);
    CHECK(dns_parse_query(r.b, r.n, &q) == 0 && !q.has_ixfr_serial,
          "an IXFR without the SOA parses (answered in AXFR form)");

    header(&r, 5, 0, 1, 0, 1, 0);
    question(&r, "example.com", DNS_T_IXFR);
    ixfr_soa(&r, "other.com", DNS_T_SOA, 7);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "an SOA of another zone: FORMERR");
    header(&r, 5, 0, 1, 0, 1, 0);
    question(&r, "example.com", DNS_T_IXFR);
    ixfr_soa(&r, NULL, DNS_T_A, 7);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "not an SOA: FORMERR");
    header(&r, 5, 0, 1, 0, 1, 0);
    question(&r, "example.com", DNS_T_IXFR);
    size_t rdl = ixfr_soa(&r, NULL, DNS_T_SOA, 7);
    r.b[rdl + 1]--;
    CHECK(dns_parse_query(r.b, r.n - 1, &q) == DNS_R_FORMERR, "an SOA one byte short: FORMERR");
    r.b[rdl + 1] = 4;
    CHECK(dns_parse_query(r.b, rdl + 6, &q) == DNS_R_FORMERR, "SOA rdata of 4 bytes: FORMERR");
    header(&r, 5, 0, 1, 0, 1, 0);
    question(&r, "example.com", DNS_T_IXFR);
    ixfr_soa(&r, NULL, DNS_T_SOA, 7);
    for (size_t cut = 29; cut < r.n; cut += 5)
        CHECK(dns_parse_query(r.b, cut, &q) == DNS_R_FORMERR, "IXFR cut at %zu: FORMERR", cut);
    header(&r, 5, 0, 1, 0, 2, 0);
    question(&r, "example.com", DNS_T_IXFR);
    ixfr_soa(&r, NULL, DNS_T_SOA, 7);
    ixfr_soa(&r, NULL, DNS_T_SOA, 8);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "two authority records: FORMERR");
    header(&r, 5, 0, 1, 0, 1, 0);
    question(&r, "example.com", DNS_T_A);
    ixfr_soa(&r, NULL, DNS_T_SOA, 7);
    CHECK(dns_parse_query(r.b, r.n, &q) == DNS_R_FORMERR, "an SOA beside an A query: FORMERR");
}

static void test_serial(void)
{
    CHECK(dns_serial_newer(2, 1) && !dns_serial_newer(1, 2) && !dns_serial_newer(5, 5),
          "serials compare");
    CHECK(dns_serial_newer(3, 0xFFFFFFF0u) && !dns_serial_newer(0xFFFFFFF0u, 3),
          "across the wrap (RFC 1982)");
}

int main(void)
{
    test_query_good();
    test_query_bad();
    test_query_bad_records();
    test_ixfr();
    test_serial();
    return unit_done();
}
