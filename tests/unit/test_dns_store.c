/*
 * Unit test of the DNS server's record store (servers/dns/store.c,
 * store_load.c, answer.c): zones from files in a temporary folder
 * ($INCLUDE held to that folder), hosts files, and the answers to wire
 * queries read back with dns_walk_message: every record type, CNAME
 * chains and loops, wildcards and empty non-terminals (RFC 4592),
 * NXDOMAIN and NODATA with the SOA (RFC 2308), referrals with glue,
 * ANY, the client's case, the deepest zone, hosts A/AAAA/PTR, TC, AXFR
 * order (RFC 5936), load errors and their rollback; and a million-line
 * hosts file, whose load time and memory per name are printed and held
 * to 2 s and 256 bytes.  TAP output; exits non-zero when a check fails.
 */
#include "../../servers/dns/wire.c"
#include "../../servers/dns/wire_build.c"
#include "../../servers/dns/zone.c"
#include "../../servers/dns/zone_rdata.c"
#include "../../servers/dns/hosts.c"
#include "../../servers/dns/store.c"
#include "../../servers/dns/store_load.c"
#include "../../servers/dns/answer.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ftw.h>
#include <unistd.h>
#include <sys/stat.h>

#include "unit.h"
#include "dns_raw.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLOW_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLOW_BUILD 1
#endif
#endif
#ifndef SLOW_BUILD
#define SLOW_BUILD 0
#endif

#define MAX_FILES 32
#define SECTION_TEXT 8192

static char tmpdir[64];
static char files[MAX_FILES][128];
static int nfiles;
static char err[1024];

/* ---- files ---- */

static const char *write_file(const char *name, const char *text)
{
    char *path = files[nfiles < MAX_FILES - 1 ? nfiles++ : nfiles];
    FILE *f;

    snprintf(path, sizeof files[0], "%s/%s", tmpdir, name);
    if (!(f = fopen(path, "w"))) {
        printf("# cannot write %s\n", path);
        return path;
    }
    fputs(text, f);
    fclose(f);
    return path;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* ---- answers, as text ---- */

struct result {
    enum store_result rc;
    struct dns_header h;
    int rcode, aa, tc, truncated;
    char sec[3][SECTION_TEXT];     /* "owner ttl TYPE rdata\n" per record */
};

static struct result R;

static const char *type_name(uint16_t t)
{
    switch (t) {
    case DNS_T_A: return "A";
    case DNS_T_NS: return "NS";
    case DNS_T_CNAME: return "CNAME";
    case DNS_T_SOA: return "SOA";
    case DNS_T_PTR: return "PTR";
    case DNS_T_MX: return "MX";
    case DNS_T_TXT: return "TXT";
    case DNS_T_AAAA: return "AAAA";
    case DNS_T_SRV: return "SRV";
    case DNS_T_CAA: return "CAA";
    default: return "TYPE?";
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The text of a name inside rdata at *off (uncompressed, as expanded). */
static void rd_name_text(const uint8_t *rd, size_t len, size_t *off, char *out, size_t outlen)
{
    struct dns_name n;

    if (dns_read_name(rd, len, off, &n) < 0 || dns_name_to_text(&n, out, outlen) < 0)
        snprintf(out, outlen, "(bad name)");
}

static void strings_text(const uint8_t *rd, size_t len, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 4 < outlen; i += 1u + rd[i])
        o += (size_t)snprintf(out + o, outlen - o, "%s\"%.*s\"", i ? " " : "", (int)rd[i],
                              (const char *)rd + i + 1);
}

static void rdata_text(uint16_t type, const uint8_t *rd, size_t len, char *out, size_t outlen)
{
    char a[300], b[300];
    size_t off = 0;

    switch (type) {
    case DNS_T_A: case DNS_T_AAAA:
        inet_ntop(type == DNS_T_A ? AF_INET : AF_INET6, rd, out, (socklen_t)outlen);
        return;
    case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR:
        rd_name_text(rd, len, &off, out, outlen);
        return;
    case DNS_T_MX:
        off = 2;
        rd_name_text(rd, len, &off, a, sizeof a);
        snprintf(out, outlen, "%u %s", rd[0] << 8 | rd[1], a);
        return;
    case DNS_T_SRV:
        off = 6;
        rd_name_text(rd, len, &off, a, sizeof a);
        snprintf(out, outlen, "%u %u %u %s", rd[0] << 8 | rd[1], rd[2] << 8 | rd[3],
                 rd[4] << 8 | rd[5], a);
        return;
    case DNS_T_SOA:
        rd_name_text(rd, len, &off, a, sizeof a);
        rd_name_text(rd, len, &off, b, sizeof b);
        snprintf(out, outlen, "%s %s %u %u", a, b, be32(rd + off), be32(rd + off + 16));
        return;
    case DNS_T_TXT:
        strings_text(rd, len, out, outlen);
        return;
    case DNS_T_CAA:
        snprintf(out, outlen, "%u %.*s \"%.*s\"", rd[0], (int)rd[1], (const char *)rd + 2,
                 (int)(len - 2 - rd[1]), (const char *)rd + 2 + rd[1]);
        return;
    default:
        snprintf(out, outlen, "\\# %zu", len);
    }
}

static const uint8_t *walk_msg;
static size_t walk_len;

static int on_rr(const struct dns_header *h, enum dns_section sec, const struct dns_rr_view *rr,
                 void *arg)
{
    char owner[1100], rdtext[1200];
    uint8_t rd[65536];
    int rdlen = dns_rdata_expand(walk_msg, walk_len, rr, rd, sizeof rd);
    char *s = R.sec[sec];
    size_t o = strlen(s);

    (void)h;
    (void)arg;
    dns_name_to_text(&rr->owner, owner, sizeof owner);
    if (rdlen < 0)
        snprintf(rdtext, sizeof rdtext, "(bad rdata)");
    else
        rdata_text(rr->type, rd, (size_t)rdlen, rdtext, sizeof rdtext);
    snprintf(s + o, SECTION_TEXT - o, "%s %u %s %s\n", owner, rr->ttl, type_name(rr->type),
             rdtext);
    return 0;
}

static size_t make_query(uint8_t *buf, const char *qname, uint16_t type, uint16_t class)
{
    struct dns_name n = name(qname);
    size_t o = 12;

    memset(buf, 0, 12);
    buf[0] = 0x12, buf[1] = 0x34, buf[2] = 0x01, buf[5] = 1;
    memcpy(buf + o, n.wire, n.len);
    o += n.len;
    buf[o++] = (uint8_t)(type >> 8), buf[o++] = (uint8_t)type;
    buf[o++] = (uint8_t)(class >> 8), buf[o++] = (uint8_t)class;
    return o;
}

/* Asks st, answering into a buffer of cap bytes; the answer is in R. */
static enum store_result ask_in(const struct dns_store *st, const char *qname, uint16_t type,
                                uint16_t class, size_t cap)
{
    static uint8_t out[65535];
    uint8_t qbuf[512];
    struct dns_query q;
    struct dns_builder b;
    size_t qlen = make_query(qbuf, qname, type, class), len;

    memset(&R, 0, sizeof R);
    if (dns_parse_query(qbuf, qlen, &q) != 0) {
        printf("# query for %s did not parse\n", qname);
        return R.rc = (enum store_result)-1;
    }
    dns_builder_init(&b, out, cap);
    dns_begin_answer(&b, &q, 0, DNS_R_SERVFAIL);
    R.rc = store_answer(st, &q, &b);
    R.truncated = b.truncated;
    len = dns_finish(&b);
    walk_msg = out;
    walk_len = len;
    if (dns_walk_message(out, len, &R.h, on_rr, NULL) != 0)
        printf("# the answer for %s does not parse\n", qname);
    R.rcode = R.h.flags & 0xF;
    R.aa = !!(R.h.flags & DNS_F_AA);
    R.tc = !!(R.h.flags & DNS_F_TC);
    return R.rc;
}

static enum store_result ask(const struct dns_store *st, const char *qname, uint16_t type)
{
    return ask_in(st, qname, type, DNS_C_IN, 4096);
}

/* ---- the zones ---- */

static const char example_zone[] =
    "$ORIGIN example.com.\n"
    "$TTL 3600\n"
    "@   IN SOA ns1 hostmaster ( 2024010101 7200 900 1209600 300 )\n"
    "    NS  ns1\n"
    "    NS  ns2.example.net.\n"
    "    MX  10 mail\n"
    "    MX  20 mail2.example.net.\n"
    "    CAA 0 issue \"letsencrypt.org\"\n"
    "ns1 A 192.0.2.53\n"
    "    AAAA 2001:db8::53\n"
    "mail A 192.0.2.25\n"
    "www A 192.0.2.1\n"
    "    AAAA 2001:db8::1\n"
    "    A 192.0.2.1 ; the same record twice is one\n"
    "txt TXT \"hello world\" \"second\"\n"
    "_sip._tcp SRV 10 60 5060 sip\n"
    "sip A 192.0.2.60\n"
    "alias CNAME alias2\n"
    "alias2 CNAME www\n"
    "loop1 CNAME loop2\n"
    "loop2 CNAME loop1\n"
    "ext CNAME www.example.net.\n"
    "dangling CNAME nothere\n"
    "*.wild A 192.0.2.99\n"
    "host.wild TXT \"exists\"\n"
    "a.b A 192.0.2.7\n"
    "sub NS ns.sub\n"
    "sub NS ns.example.net.\n"
    "ns.sub A 192.0.2.77\n"
    "short 60 A 192.0.2.2\n"
    "many A 192.0.2.101\n A 192.0.2.102\n A 192.0.2.103\n A 192.0.2.104\n"
    "     A 192.0.2.105\n A 192.0.2.106\n A 192.0.2.107\n A 192.0.2.108\n";

static const char sub_zone[] =
    "sub.example.com. 600 SOA ns.sub.example.com. admin.example.com. 7 1 1 1 60\n"
    "sub.example.com. 600 NS ns.sub.example.com.\n"
    "ns.sub.example.com. 600 A 192.0.2.77\n"
    "host.sub.example.com. 600 A 198.51.100.1\n";

static const char org_zone[] =
    "$ORIGIN example.org.\n"
    "@ 100 SOA ns hostmaster 5 1h 15m 2w 3600\n"
    "  100 NS ns\n"
    "$INCLUDE org.inc\n"
    "after 100 A 203.0.113.2\n";

static const char org_inc[] = "inc 100 A 203.0.113.1\nns 100 A 203.0.113.53\n";

static void test_records(const struct dns_store *st)
{
    CHECK(ask(st, "www.example.com", DNS_T_A) == STORE_ANSWERED, "www A: answered");
    CHECK(R.aa && R.rcode == DNS_R_NOERROR && !R.tc, "www A: AA, NOERROR, no TC");
    CHECK_STR(R.sec[0], "www.example.com. 3600 A 192.0.2.1\n",
              "www A: one record (the duplicate is one)");
    ask(st, "www.example.com", DNS_T_AAAA);
    CHECK_STR(R.sec[0], "www.example.com. 3600 AAAA 2001:db8::1\n", "www AAAA");
    ask(st, "example.com", DNS_T_MX);
    CHECK_HAS(R.sec[0], "example.com. 3600 MX 10 mail.example.com.\n", "MX 10");
    CHECK_HAS(R.sec[0], "example.com. 3600 MX 20 mail2.example.net.\n", "MX 20");
    CHECK_STR(R.sec[2], "mail.example.com. 3600 A 192.0.2.25\n",
              "MX: the in-zone target's address as additional data");
    ask(st, "txt.example.com", DNS_T_TXT);
    CHECK_STR(R.sec[0], "txt.example.com. 3600 TXT \"hello world\" \"second\"\n",
              "TXT with two strings");
    ask(st, "_sip._tcp.example.com", DNS_T_SRV);
    CHECK_STR(R.sec[0], "_sip._tcp.example.com. 3600 SRV 10 60 5060 sip.example.com.\n", "SRV");
    CHECK_STR(R.sec[2], "sip.example.com. 3600 A 192.0.2.60\n", "SRV: the target's address");
    ask(st, "example.com", DNS_T_CAA);
    CHECK_STR(R.sec[0], "example.com. 3600 CAA 0 issue \"letsencrypt.org\"\n", "CAA");
    ask(st, "example.com", DNS_T_NS);
    CHECK_HAS(R.sec[0], "example.com. 3600 NS ns1.example.com.\n", "NS ns1");
    CHECK_HAS(R.sec[0], "example.com. 3600 NS ns2.example.net.\n", "NS ns2");
    CHECK(R.aa && R.h.nscount == 0, "NS at the apex: an authoritative answer, not a referral");
    CHECK_HAS(R.sec[2], "ns1.example.com. 3600 A 192.0.2.53\n", "NS: ns1's A");
    CHECK_HAS(R.sec[2], "ns1.example.com. 3600 AAAA 2001:db8::53\n", "NS: ns1's AAAA");
    ask(st, "example.com", DNS_T_SOA);
    CHECK_STR(R.sec[0],
              "example.com. 3600 SOA ns1.example.com. hostmaster.example.com. 2024010101 300\n",
              "SOA");
    ask(st, "short.example.com", DNS_T_A);
    CHECK_STR(R.sec[0], "short.example.com. 60 A 192.0.2.2\n", "a record's own TTL");
    ask(st, "many.example.com", DNS_T_A);
    CHECK(R.h.ancount == 8, "eight A records at one name (%u)", R.h.ancount);
}

static void test_cnames(const struct dns_store *st)
{
    ask(st, "alias.example.com", DNS_T_A);
    CHECK(R.aa && R.rcode == DNS_R_NOERROR && R.h.ancount == 3, "a chain: two CNAMEs and the A");
    CHECK_STR(R.sec[0], "alias.example.com. 3600 CNAME alias2.example.com.\n"
              "alias2.example.com. 3600 CNAME www.example.com.\n"
              "www.example.com. 3600 A 192.0.2.1\n", "the chain in order");
    ask(st, "alias.example.com", DNS_T_CNAME);
    CHECK_STR(R.sec[0], "alias.example.com. 3600 CNAME alias2.example.com.\n",
              "qtype CNAME: the CNAME alone");
    CHECK(ask(st, "loop1.example.com", DNS_T_A) == STORE_ANSWERED, "a CNAME loop is answered");
    CHECK(R.h.ancount == 2 && R.rcode == DNS_R_NOERROR, "a loop stops when it comes round (%u)",
          R.h.ancount);
    ask(st, "ext.example.com", DNS_T_A);
    CHECK_STR(R.sec[0], "ext.example.com. 3600 CNAME www.example.net.\n",
              "a CNAME out of the zone is not followed");
    CHECK(R.rcode == DNS_R_NOERROR && R.aa && R.h.nscount == 0,
          "out of the zone: NOERROR, the client goes on");
    ask(st, "dangling.example.com", DNS_T_A);
    CHECK(R.rcode == DNS_R_NXDOMAIN && R.h.ancount == 1,
          "a CNAME to a missing name: NXDOMAIN with the CNAME (RFC 6604)");
    CHECK_HAS(R.sec[1], " SOA ", "and the SOA");
    ask(st, "alias.example.com", DNS_T_MX);
    CHECK(R.h.ancount == 2 && R.rcode == DNS_R_NOERROR, "a chain to NODATA: the CNAMEs");
    CHECK_HAS(R.sec[1], "example.com. 300 SOA", "and the SOA");
}

static void test_wildcards(const struct dns_store *st)
{
    ask(st, "foo.wild.example.com", DNS_T_A);
    CHECK_STR(R.sec[0], "foo.wild.example.com. 3600 A 192.0.2.99\n",
              "a wildcard answers with the asked name");
    CHECK(R.aa && R.rcode == DNS_R_NOERROR, "wildcard: AA, NOERROR");
    ask(st, "a.b.c.wild.example.com", DNS_T_A);
    CHECK_STR(R.sec[0], "a.b.c.wild.example.com. 3600 A 192.0.2.99\n",
              "a wildcard covers names several labels below");
    ask(st, "foo.wild.example.com", DNS_T_MX);
    CHECK(R.rcode == DNS_R_NOERROR && R.h.ancount == 0 && R.h.nscount == 1,
          "wildcard, another type: NODATA");
    ask(st, "host.wild.example.com", DNS_T_A);
    CHECK(R.rcode == DNS_R_NOERROR && R.h.ancount == 0,
          "a name that exists is not covered by the wildcard");
    ask(st, "x.host.wild.example.com", DNS_T_A);
    CHECK(R.rcode == DNS_R_NXDOMAIN,
          "below an existing name the wildcard does not reach (closest encloser)");
    ask(st, "wild.example.com", DNS_T_A);
    CHECK(R.rcode == DNS_R_NOERROR && R.h.ancount == 0,
          "the wildcard's parent is an empty non-terminal: NODATA");
    ask(st, "b.example.com", DNS_T_A);
    CHECK(R.rcode == DNS_R_NOERROR && R.h.ancount == 0 && R.h.nscount == 1,
          "an empty non-terminal: NODATA, not NXDOMAIN");
    ask(st, "a.b.example.com", DNS_T_A);
    CHECK_STR(R.sec[0], "a.b.example.com. 3600 A 192.0.2.7\n", "the name below it");
}

static void test_negative(const struct dns_store *st)
{
    CHECK(ask(st, "nope.example.com", DNS_T_A) == STORE_ANSWERED, "a missing name is answered");
    CHECK(R.rcode == DNS_R_NXDOMAIN && R.aa && R.h.ancount == 0, "NXDOMAIN, AA, no answer");
    CHECK_STR(R.sec[1],
              "example.com. 300 SOA ns1.example.com. hostmaster.example.com. 2024010101 300\n",
              "the SOA, TTL min(3600, minimum 300)");
    ask(st, "www.example.com", DNS_T_MX);
    CHECK(R.rcode == DNS_R_NOERROR && R.aa && R.h.ancount == 0, "NODATA: NOERROR, no answer");
    CHECK_HAS(R.sec[1], "example.com. 300 SOA", "NODATA: the SOA");
    ask(st, "nope.example.org", DNS_T_A);
    CHECK_HAS(R.sec[1], "example.org. 100 SOA", "the SOA's TTL when it is below the minimum");
    ask(st, "deep.er.nope.example.com", DNS_T_A);
    CHECK(R.rcode == DNS_R_NXDOMAIN, "a deeper missing name");
}

static void test_referral(const struct dns_store *st)
{
    ask(st, "host.sub.example.com", DNS_T_A);
    CHECK(R.rc == STORE_ANSWERED && !R.aa && R.rcode == DNS_R_NOERROR,
          "below a cut: a referral, no AA");
    CHECK(R.h.ancount == 0 && R.h.nscount == 2, "referral: the two NS in the authority section");
    CHECK_HAS(R.sec[1], "sub.example.com. 3600 NS ns.sub.example.com.\n", "referral: NS");
    CHECK_STR(R.sec[2], "ns.sub.example.com. 3600 A 192.0.2.77\n",
              "referral: the glue, not the out-of-zone server");
    ask(st, "sub.example.com", DNS_T_NS);
    CHECK(!R.aa && R.h.nscount == 2 && R.h.ancount == 0, "the cut itself: a referral");
    ask(st, "ns.sub.example.com", DNS_T_A);
    CHECK(!R.aa && R.h.ancount == 0 && R.h.nscount == 2, "glue is not given as an answer");
    ask(st, "sub.example.com", SA_T_DS);
    CHECK(R.aa && R.h.nscount == 1 && R.rcode == DNS_R_NOERROR,
          "DS at the cut: the parent answers (NODATA)");
}

static void test_any_case_class(const struct dns_store *st)
{
    ask(st, "www.example.com", DNS_T_ANY);
    CHECK(R.h.ancount == 2, "ANY: both record sets (%u)", R.h.ancount);
    CHECK_HAS(R.sec[0], "www.example.com. 3600 A 192.0.2.1\n", "ANY: A");
    CHECK_HAS(R.sec[0], "www.example.com. 3600 AAAA 2001:db8::1\n", "ANY: AAAA");
    ask(st, "WwW.ExAmPlE.CoM", DNS_T_A);
    CHECK_STR(R.sec[0], "WwW.ExAmPlE.CoM. 3600 A 192.0.2.1\n",
              "any case finds the name; the client's case echoed");
    ask(st, "FOO.Wild.EXAMPLE.com", DNS_T_A);
    CHECK_STR(R.sec[0], "FOO.Wild.EXAMPLE.com. 3600 A 192.0.2.99\n",
              "a wildcard echoes the client's case");
    CHECK(ask_in(st, "www.example.com", DNS_T_A, DNS_C_CH, 4096) == STORE_NOT_OURS,
          "class CH: not ours");
    CHECK(ask_in(st, "www.example.com", DNS_T_A, DNS_C_ANY, 4096) == STORE_ANSWERED,
          "class ANY: answered");
    CHECK(ask(st, "www.example.net", DNS_T_A) == STORE_NOT_OURS, "a name in no zone: not ours");
    CHECK(ask(st, "com", DNS_T_A) == STORE_NOT_OURS, "a zone's parent: not ours");
    CHECK(ask(st, ".", DNS_T_NS) == STORE_NOT_OURS, "the root: not ours");
}

static void test_deepest(const struct dns_store *st)
{
    ask(st, "host.sub.example.com", DNS_T_A);
    CHECK(R.aa && R.rcode == DNS_R_NOERROR, "with the child loaded, the deepest zone answers");
    CHECK_STR(R.sec[0], "host.sub.example.com. 600 A 198.51.100.1\n", "the child's record");
    ask(st, "nope.sub.example.com", DNS_T_A);
    CHECK_HAS(R.sec[1], "sub.example.com. 60 SOA", "NXDOMAIN with the child's SOA");
    ask(st, "sub.example.com", DNS_T_NS);
    CHECK(R.aa && R.h.ancount == 1 && R.h.nscount == 0, "the child's apex NS: an answer");
    ask(st, "www.example.com", DNS_T_A);
    CHECK(R.aa && R.h.ancount == 1, "the parent still answers its own names");
    ask(st, "inc.example.org", DNS_T_A);
    CHECK_STR(R.sec[0], "inc.example.org. 100 A 203.0.113.1\n",
              "$INCLUDE of a file in the same folder");
    ask(st, "after.example.org", DNS_T_A);
    CHECK(R.h.ancount == 1, "the file goes on after the $INCLUDE");
}

/* ---- hosts ---- */

static const char hosts_text[] =
    "# a hosts file\n"
    "127.0.0.1 localhost\n"
    "192.0.2.10  web.lan  www.lan   # the web server\n"
    "192.0.2.11  db.lan\n"
    "192.0.2.10  other.lan\n"
    "2001:db8::10 web.lan\n"
    "::1 localhost ip6-localhost\n"
    "192.0.2.12 Mixed.Case.LAN\n"
    "not-an-address bad.lan\n"
    "192.0.2.13\n";

static void test_hosts(void)
{
    struct dns_store *st = store_new();
    const char *path = write_file("hosts", hosts_text);

    CHECK(store_load_hosts_file(st, path, err, sizeof err) == 0, "a hosts file loads");
    CHECK_HAS(err, "2 malformed lines skipped, the first at line 9",
              "bad lines are counted in err");
    CHECK(store_host_names(st) == 7, "seven names (%zu)", store_host_names(st));
    CHECK(store_zone_count(st) == 0, "no zones");
    CHECK(ask(st, "web.lan", DNS_T_A) == STORE_ANSWERED, "web.lan A: answered");
    CHECK(!R.aa && R.rcode == DNS_R_NOERROR, "hosts: not authoritative, NOERROR");
    CHECK_STR(R.sec[0], "web.lan. 300 A 192.0.2.10\n", "hosts A, TTL 300");
    ask(st, "www.lan", DNS_T_A);
    CHECK_STR(R.sec[0], "www.lan. 300 A 192.0.2.10\n", "an alias");
    ask(st, "web.lan", DNS_T_AAAA);
    CHECK_STR(R.sec[0], "web.lan. 300 AAAA 2001:db8::10\n", "AAAA from another line");
    ask(st, "localhost", DNS_T_AAAA);
    CHECK_STR(R.sec[0], "localhost. 300 AAAA ::1\n", "localhost AAAA");
    ask(st, "ip6-localhost", DNS_T_AAAA);
    CHECK_STR(R.sec[0], "ip6-localhost. 300 AAAA ::1\n", "an IPv6 alias");
    ask(st, "web.lan", DNS_T_ANY);
    CHECK(R.h.ancount == 2, "ANY: A and AAAA");
    ask(st, "10.2.0.192.in-addr.arpa", DNS_T_PTR);
    CHECK_STR(R.sec[0], "10.2.0.192.in-addr.arpa. 300 PTR web.lan.\n",
              "v4 PTR: the first name of the first line");
    ask(st, "11.2.0.192.in-addr.arpa", DNS_T_PTR);
    CHECK_STR(R.sec[0], "11.2.0.192.in-addr.arpa. 300 PTR db.lan.\n", "v4 PTR of another line");
    ask(st, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", DNS_T_PTR);
    CHECK_STR(R.sec[0],
              "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 PTR "
              "web.lan.\n",
              "v6 PTR");
    ask(st, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.IP6.ARPA", DNS_T_PTR);
    CHECK_HAS(R.sec[0], "PTR localhost.", "::1 PTR, asked in capitals");
    ask(st, "12.2.0.192.in-addr.arpa", DNS_T_PTR);
    CHECK_HAS(R.sec[0], "PTR Mixed.Case.LAN.", "a PTR keeps the name's case from the file");
    ask(st, "mixed.case.lan", DNS_T_A);
    CHECK_STR(R.sec[0], "mixed.case.lan. 300 A 192.0.2.12\n", "a hosts name in another case");
    ask(st, "web.lan", DNS_T_MX);
    CHECK(R.rc == STORE_ANSWERED && R.rcode == DNS_R_NOERROR && R.h.ancount == 0 &&
              R.h.nscount == 0,
          "a type the hosts name lacks: NOERROR, no data");
    CHECK(ask(st, "bad.lan", DNS_T_A) == STORE_NOT_OURS, "a name from a bad line is not there");
    CHECK(ask(st, "nothere.lan", DNS_T_A) == STORE_NOT_OURS, "an unknown name: not ours");
    CHECK(store_load_hosts_file(st, "/nonexistent/hosts", err, sizeof err) == -1,
          "a missing file fails");
    CHECK_HAS(err, "/nonexistent/hosts: ", "the error names the file");
    CHECK(store_load_hosts_file(st, write_file("hosts2", "192.0.2.50 web.lan\n"), err,
                                sizeof err) == 0,
          "a second hosts file loads");
    CHECK_STR(err, "", "no bad lines: err is empty");
    ask(st, "web.lan", DNS_T_A);
    CHECK(R.h.ancount == 2, "a second file adds to a name");
    store_free(st);
}

/* ---- load errors ---- */

static void zone_error(struct dns_store *st, const char *file, const char *text,
                       const char *want, const char *what)
{
    CHECK(store_load_zone_file(st, write_file(file, text), err, sizeof err) == -1, "%s: refused",
          what);
    CHECK_HAS(err, want, "%s: the message", what);
}

#define SOA_LINE "@ SOA ns h 1 1 1 1 1\n"

static void test_zone_errors(struct dns_store *st)
{
    zone_error(st, "syntax.zone", "$ORIGIN s.test.\n" SOA_LINE "www A 300.1.2.3\n",
               "syntax.zone:3: ", "a bad address gives file:line");
    zone_error(st, "nosoa.zone", "$ORIGIN n.test.\nwww A 192.0.2.1\n",
               "nosoa.zone: no SOA at the apex", "no SOA");
    zone_error(st, "outside.zone", "$ORIGIN o.test.\n" SOA_LINE "www.elsewhere. A 192.0.2.1\n",
               "outside.zone:3: record www.elsewhere. is outside the zone o.test.",
               "a record outside the zone");
    zone_error(st, "cname.zone", "$ORIGIN c.test.\n" SOA_LINE "x CNAME y\nx A 192.0.2.1\n",
               "cname.zone:4: x.c.test. has a CNAME and other data", "CNAME and other data");
    zone_error(st, "cname2.zone", "$ORIGIN c.test.\n" SOA_LINE "x A 192.0.2.1\nx CNAME y\n",
               "cname2.zone:4: x.c.test. has a CNAME and other data", "other data, then a CNAME");
    zone_error(st, "twocname.zone", "$ORIGIN c.test.\n" SOA_LINE "x CNAME y\nx CNAME z\n",
               "more than one CNAME", "two CNAMEs");
    zone_error(st, "soa2.zone", "$ORIGIN c.test.\n" SOA_LINE "@ SOA ns h 2 1 1 1 1\n",
               "soa2.zone:3: a second SOA", "two SOAs");
    zone_error(st, "soabelow.zone", "$ORIGIN c.test.\n" SOA_LINE "x SOA ns h 1 1 1 1 1\n",
               "not at the zone's apex", "a SOA below the apex");
    zone_error(st, "early.zone", "www.e.test. A 192.0.2.1\ne.test. SOA ns h 1 1 1 1 1\n",
               "early.zone:1: a record before the zone's origin is known",
               "a record before the origin");
    zone_error(st, "dup.zone", "$ORIGIN good.test.\n" SOA_LINE,
               "dup.zone: zone good.test. is loaded already", "the same zone twice");
    CHECK(store_load_zone_file(st, "/nonexistent.zone", err, sizeof err) == -1,
          "a missing zone file fails");
    CHECK_HAS(err, "/nonexistent.zone: No such file", "the message names the file");
    CHECK(store_load_zone_file(st, tmpdir, err, sizeof err) == -1, "a folder is refused");
    CHECK_HAS(err, "is a folder", "the message says so");
}

static void test_include_errors(struct dns_store *st)
{
    char text[512];

    zone_error(st, "dotdot.zone", "$ORIGIN i.test.\n" SOA_LINE "$INCLUDE ../x\n",
               "dotdot.zone:3: $INCLUDE ../x: ", "$INCLUDE ../x");
    /* Zones in a folder z/, with a file beside that folder. */
    snprintf(text, sizeof text, "%s/z", tmpdir);
    CHECK(mkdir(text, 0700) == 0, "a zone folder");
    write_file("outside.inc", "www A 192.0.2.9\n");
    zone_error(st, "z/up.zone", "$ORIGIN i.test.\n" SOA_LINE "$INCLUDE ../outside.inc\n",
               "is outside the zone file's folder", "$INCLUDE of an existing file above");
    snprintf(text, sizeof text, "$ORIGIN i.test.\n" SOA_LINE "$INCLUDE %s/outside.inc\n",
             tmpdir);
    zone_error(st, "z/abs.zone", text, "abs.zone:3: $INCLUDE ", "an absolute path above");
    CHECK_HAS(err, "outside.inc is outside the zone file's folder", "the message says why");
    zone_error(st, "abs.zone", "$ORIGIN i.test.\n" SOA_LINE "$INCLUDE /etc/hosts\n",
               "abs.zone:3: $INCLUDE /etc/hosts: /etc/hosts is outside the zone file's folder",
               "$INCLUDE of an absolute path elsewhere");
    snprintf(text, sizeof text, "%s/z/escape.inc", tmpdir);
    CHECK(symlink("../outside.inc", text) == 0, "a symlink pointing out of the folder");
    zone_error(st, "z/symlink.zone", "$ORIGIN i.test.\n" SOA_LINE "$INCLUDE escape.inc\n",
               "is outside the zone file's folder", "$INCLUDE through a symlink that leaves");
    zone_error(st, "missing.zone", "$ORIGIN i.test.\n" SOA_LINE "$INCLUDE missing.inc\n",
               "missing.zone:3: $INCLUDE missing.inc: No such file", "$INCLUDE of a missing file");
    write_file("bad.inc", "ok A 192.0.2.1\nbad CNAME x\nbad A 192.0.2.2\n");
    zone_error(st, "badinc.zone", "$ORIGIN i.test.\n" SOA_LINE "$INCLUDE bad.inc\n",
               "bad.inc:3: bad.i.test. has a CNAME and other data",
               "an error in an included file names that file and line");
}

/* BIND and Knot load an absolute $INCLUDE, one in a folder below, and one
 * through a symlink that stays inside: so must we. */
static void test_include_paths(void)
{
    struct dns_store *st = store_new();
    char sub[128], text[1024], link[160];

    snprintf(sub, sizeof sub, "%s/sub", tmpdir);
    CHECK(mkdir(sub, 0700) == 0, "a folder below the zone's");
    write_file("sub/below.inc", "below A 192.0.2.21\n");
    write_file("abs.inc", "abs A 192.0.2.22\n");
    write_file(".hidden.inc", "hidden A 192.0.2.23\n");
    snprintf(link, sizeof link, "%s/linked.inc", tmpdir);
    CHECK(symlink("sub/below.inc", link) == 0, "a symlink that stays inside");
    snprintf(text, sizeof text, "$ORIGIN p.test.\n" SOA_LINE "$INCLUDE %s/abs.inc\n"
             "$INCLUDE sub/below.inc\n$INCLUDE .hidden.inc\n$INCLUDE %s/./sub/../linked.inc "
             "l.p.test.\n", tmpdir, tmpdir);
    int r = store_load_zone_file(st, write_file("paths.zone", text), err, sizeof err);
    CHECK(r == 0, "absolute, nested, hidden and linked includes load (%s)", r ? err : "");
    ask(st, "abs.p.test", DNS_T_A);
    CHECK_STR(R.sec[0], "abs.p.test. 1 A 192.0.2.22\n", "the absolute $INCLUDE");
    ask(st, "below.p.test", DNS_T_A);
    CHECK_STR(R.sec[0], "below.p.test. 1 A 192.0.2.21\n", "the $INCLUDE from a folder below");
    ask(st, "hidden.p.test", DNS_T_A);
    CHECK(R.h.ancount == 1, "a hidden file in the folder");
    ask(st, "below.l.p.test", DNS_T_A);
    CHECK(R.h.ancount == 1, "the linked file, with its own origin");
    store_free(st);
}

static void test_errors(void)
{
    struct dns_store *st = store_new();
    const char *good = write_file("good.zone", "$ORIGIN good.test.\n" SOA_LINE "www A 192.0.2.1\n");

    CHECK(store_load_zone_file(st, good, err, sizeof err) == 0, "a good zone loads");
    test_zone_errors(st);
    test_include_errors(st);
    /* Every failure above was rolled back whole. */
    CHECK(store_zone_count(st) == 1, "one zone after the failures (%zu)", store_zone_count(st));
    ask(st, "www.good.test", DNS_T_A);
    CHECK(R.h.ancount == 1, "the good zone still answers");
    CHECK(ask(st, "www.c.test", DNS_T_A) == STORE_NOT_OURS, "a failed zone's names are gone");
    CHECK(ask(st, "ok.i.test", DNS_T_A) == STORE_NOT_OURS, "a failed include's records are gone");
    CHECK(st->n_nodes == 3 && st->n_rrs == 2, "only the good zone's nodes and records remain");
    store_free(st);
}

/* ---- truncation ---- */

static void test_truncation(const struct dns_store *st)
{
    ask_in(st, "many.example.com", DNS_T_A, DNS_C_IN, 120);
    CHECK(R.rc == STORE_ANSWERED && R.truncated && R.tc, "eight A in 120 bytes: TC");
    CHECK(R.h.ancount > 0 && R.h.ancount < 8, "the records that fit are there (%u)", R.h.ancount);
    ask_in(st, "nope.example.com", DNS_T_A, DNS_C_IN, 40);
    CHECK(R.tc && R.rcode == DNS_R_NXDOMAIN && R.h.nscount == 0, "an SOA that does not fit: TC");
    ask_in(st, "example.com", DNS_T_MX, DNS_C_IN, 90);
    CHECK(R.h.ancount == 2 && R.h.arcount == 0 && !R.tc && !R.truncated,
          "additional data that does not fit is left out without TC");
    ask_in(st, "host.sub.example.com", DNS_T_A, DNS_C_IN, 90);
    CHECK(R.h.nscount == 2 && R.h.arcount == 0 && R.tc,
          "in-domain glue that does not fit: TC (RFC 9471)");
}

/* ---- transfers ---- */

struct axfr_log {
    int n, soas, first_soa, last_soa, stop_at;
    char text[SECTION_TEXT];
};

static int on_axfr(void *arg, const struct dns_name *owner, uint16_t type, uint32_t ttl,
                   const uint8_t *rdata, uint16_t rdlen)
{
    struct axfr_log *l = arg;
    char o[1100];
    size_t len = strlen(l->text);

    (void)ttl;
    (void)rdata;
    (void)rdlen;
    if (l->n == 0)
        l->first_soa = type == DNS_T_SOA;
    l->last_soa = type == DNS_T_SOA;
    l->soas += type == DNS_T_SOA;
    dns_name_to_text(owner, o, sizeof o);
    snprintf(l->text + len, sizeof l->text - len, "%s %s\n", o, type_name(type));
    return ++l->n == l->stop_at ? 7 : 0;
}

static void test_axfr(const struct dns_store *st)
{
    struct axfr_log l = { 0 };
    struct dns_name z = name("Example.COM"), none = name("example.net");
    uint32_t serial = 0;

    CHECK(store_axfr(st, &z, on_axfr, &l) == 0, "AXFR of example.com");
    CHECK(l.first_soa && l.last_soa && l.soas == 2, "AXFR: the SOA first and last, and only there");
    CHECK(l.n == 36, "AXFR: the 34 other records and the SOA twice (%d)", l.n);
    CHECK_HAS(l.text, "ns.sub.example.com. A\n", "AXFR: glue is part of the zone");
    CHECK_HAS(l.text, "*.wild.example.com. A\n", "AXFR: the wildcard");
    CHECK_HAS(l.text, "example.com. SOA\nexample.com. NS\n", "AXFR: the apex first");
    memset(&l, 0, sizeof l);
    l.stop_at = 3;
    CHECK(store_axfr(st, &z, on_axfr, &l) == 7 && l.n == 3,
          "AXFR: the callback's non-zero stops it");
    CHECK(store_axfr(st, &none, on_axfr, &l) == -1, "AXFR of a zone not loaded: -1");
    CHECK(store_zone_serial(st, &z, &serial) == 0 && serial == 2024010101, "serial (%u)", serial);
    z = name("sub.example.com");
    CHECK(store_zone_serial(st, &z, &serial) == 0 && serial == 7, "the child's serial");
    CHECK(store_zone_serial(st, &none, &serial) == -1, "no zone, no serial");
}

/* A zone handed over record by record, as a secondary does. */
static int add(struct dns_store *st, const char *owner, uint16_t type, const void *rd, size_t len)
{
    struct dns_name n = name(owner);

    return store_add_record(st, &n, type, 120, rd, (uint16_t)len, err, sizeof err);
}

static void test_secondary(void)
{
    struct dns_store *st = store_new();
    struct dns_name o = name("sec.test");
    static const uint8_t soa[] =
        "\2ns\3sec\4test\0\1h\3sec\4test\0\0\0\0\x2a\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\x3c";
    static const uint8_t a[] = { 192, 0, 2, 9 }, bad_ns[] = { 3, 'x', 0 };
    uint32_t serial = 0;

    CHECK(store_end_zone(st, err, sizeof err) == -1, "end with no zone begun: -1");
    CHECK(store_begin_zone(st, &o, err, sizeof err) == 0, "begin a zone");
    CHECK(store_begin_zone(st, &o, err, sizeof err) == -1, "begin twice: -1");
    CHECK(add(st, "www.sec.test", DNS_T_A, a, 4) == 0, "a record before the SOA");
    CHECK(store_end_zone(st, err, sizeof err) == -1, "end with no SOA: -1");
    CHECK_HAS(err, "sec.test.: no SOA at the apex", "no SOA: the message");
    CHECK(store_zone_count(st) == 0, "the zone was dropped");
    store_begin_zone(st, &o, err, sizeof err);
    CHECK(add(st, "sec.test", DNS_T_SOA, soa, sizeof soa - 1) == 0, "the SOA");
    CHECK(add(st, "www.sec.test", DNS_T_A, a, 4) == 0, "an A");
    CHECK(add(st, "sec.test", DNS_T_SOA, soa, sizeof soa - 1) == 0,
          "the closing SOA again is ignored");
    CHECK(store_end_zone(st, err, sizeof err) == 0, "end: the zone is in");
    CHECK(store_zone_serial(st, &o, &serial) == 0 && serial == 42, "its serial");
    ask(st, "www.sec.test", DNS_T_A);
    CHECK_STR(R.sec[0], "www.sec.test. 120 A 192.0.2.9\n", "it answers");
    o = name("two.test");
    store_begin_zone(st, &o, err, sizeof err);
    CHECK(add(st, "www.other.test", DNS_T_A, a, 4) == -1, "a record outside the zone: -1");
    CHECK_HAS(err, "outside the zone two.test.", "outside: the message");
    CHECK(add(st, "www.two.test", DNS_T_A, a, 4) == -1, "after a failure the zone is dropped");
    store_begin_zone(st, &o, err, sizeof err);
    CHECK(add(st, "two.test", DNS_T_NS, bad_ns, sizeof bad_ns) == -1,
          "NS rdata that is no name: -1");
    CHECK(store_zone_count(st) == 1, "one zone");
    store_free(st);
}

/* ---- a million names ---- */

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_million(void)
{
    const int lines = 1000000;
    char path[128];
    FILE *f;
    struct dns_store *st = store_new();
    double t0, t1, limit = SLOW_BUILD ? 10.0 : 2.0;

    snprintf(path, sizeof path, "%s/million.hosts", tmpdir);
    snprintf(files[nfiles++], sizeof files[0], "%s", path);
    if (!(f = fopen(path, "w"))) {
        CHECK(0, "cannot write %s", path);
        return;
    }
    for (int i = 0; i < lines; i++)
        fprintf(f, "10.%d.%d.%d host%d.example.test\n", i >> 16, (i >> 8) & 255, i & 255, i);
    fclose(f);
    t0 = now();
    CHECK(store_load_hosts_file(st, path, err, sizeof err) == 0, "a million-line hosts file loads");
    t1 = now();
    double per = (double)store_memory(st) / (double)store_host_names(st);
    printf(
        "# 1000000 hosts lines: %.3f s, %zu bytes, %.1f bytes per name (%zu nodes, %zu records)\n",
        t1 - t0, store_memory(st), per, st->n_nodes, st->n_rrs);
    CHECK(t1 - t0 < limit, "loaded in under %.0f s (%.3f s)", limit, t1 - t0);
    CHECK(store_host_names(st) == (size_t)lines, "a million names (%zu)", store_host_names(st));
    CHECK(per < 256, "under 256 bytes per name (%.1f)", per);
    ask(st, "host654321.example.test", DNS_T_A);
    CHECK_STR(R.sec[0], "host654321.example.test. 300 A 10.9.251.241\n", "a name from the middle");
    ask(st, "241.251.9.10.in-addr.arpa", DNS_T_PTR);
    CHECK_STR(R.sec[0], "241.251.9.10.in-addr.arpa. 300 PTR host654321.example.test.\n", "its PTR");
    t0 = now();
    for (int i = 0; i < 100000; i++)
        ask(st, "host999999.example.test", DNS_T_A);
    printf("# 100000 queries: %.3f s\n", now() - t0);
    store_free(st);
}

int main(void)
{
    struct dns_store *st = store_new();

    snprintf(tmpdir, sizeof tmpdir, "/tmp/gale-store-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("# mkdtemp failed\n");
        return 1;
    }
    CHECK(store_load_zone_file(st, write_file("example.zone", example_zone), err, sizeof err) == 0,
          "example.com loads (%s)", err);
    write_file("org.inc", org_inc);
    CHECK(store_load_zone_file(st, write_file("org.zone", org_zone), err, sizeof err) == 0,
          "example.org loads with its $INCLUDE (%s)", err);
    CHECK(store_zone_count(st) == 2, "two zones");
    test_records(st);
    test_cnames(st);
    test_wildcards(st);
    test_negative(st);
    test_referral(st);
    test_any_case_class(st);
    test_truncation(st);
    CHECK(store_load_zone_file(st, write_file("sub.zone", sub_zone), err, sizeof err) == 0,
          "the child zone sub.example.com loads (%s)", err);
    test_deepest(st);
    test_axfr(st);
    store_free(st);
    test_hosts();
    test_errors();
    test_include_paths();
    test_secondary();
    test_million();
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return unit_done();
}
