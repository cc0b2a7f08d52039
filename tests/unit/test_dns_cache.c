/*
 * Unit tests for servers/dns/cache.c: what is kept (RFC 2308 for negative
 * answers), the id of the client, least-recently-used eviction.
 */
#include "../../servers/dns/wire.c"
#include "../../servers/dns/wire_build.c"
#include "../../servers/dns/cache.c"

#include <stdio.h>
#include <string.h>

#include "unit.h"

static struct dns_query query(const char *name, uint16_t id)
{
    struct dns_query q;
    memset(&q, 0, sizeof q);
    dns_name_from_text(name, strlen(name), &q.qname);
    q.qtype = DNS_T_A;
    q.qclass = DNS_C_IN;
    q.hdr.id = id;
    q.question_end = 1;
    return q;
}

/* An upstream's answer: rcode, one A record (ttl) unless rcode is not
 * NOERROR or ttl is 0, and an SOA in authority when soa is set. */
static size_t answer_msg(const struct dns_query *q, int rcode, uint32_t ttl, int soa,
                         uint16_t flags, uint8_t *buf, size_t cap)
{
    struct dns_builder b;
    static const uint8_t a[4] = { 192, 0, 2, 1 };
    dns_builder_init(&b, buf, cap);
    dns_begin_answer(&b, q, flags, rcode);
    if (rcode == DNS_R_NOERROR && ttl)
        dns_add_rr(&b, DNS_S_ANSWER, &q->qname, DNS_T_A, DNS_C_IN, ttl, a, 4);
    if (soa) {
        struct dns_name zone;
        uint8_t rd[64];
        size_t n = 0;
        dns_name_from_text("example.", 8, &zone);
        memcpy(rd + n, zone.wire, zone.len); n += zone.len;       /* mname */
        memcpy(rd + n, zone.wire, zone.len); n += zone.len;       /* rname */
        static const uint8_t nums[20] = { 0, 0, 0, 1, 0, 0, 0, 60, 0, 0, 0, 60,
                                          0, 0, 0, 60, 0, 0, 0, 42 };   /* minimum 42 */
        memcpy(rd + n, nums, 20); n += 20;
        dns_add_rr(&b, DNS_S_AUTHORITY, &zone, DNS_T_SOA, DNS_C_IN, 600, rd, (uint16_t)n);
    }
    return dns_finish(&b);
}

static uint32_t first_ttl(const uint8_t *msg, size_t len)
{
    struct dns_header h;
    struct ttl_scan s = { MAX_TTL, 0, 0 };
    dns_walk_message(msg, len, &h, scan_ttl, &s);
    return s.min;
}

static void test_kept_and_given_back(void)
{
    struct dns_cache *c = cache_new(8);
    uint8_t msg[512], out[512];
    struct dns_query q = query("www.example.", 0x1111);
    size_t n = answer_msg(&q, DNS_R_NOERROR, 300, 0, 0, msg, sizeof msg);
    cache_put(c, &q, msg, n);
    struct dns_query q2 = query("WWW.Example.", 0x2222);
    size_t m = cache_get(c, &q2, out, sizeof out);
    CHECK(m == n, "a kept answer comes back, whatever the case of the name");
    CHECK(out[0] == 0x22 && out[1] == 0x22, "with the new client's id");
    CHECK(first_ttl(out, m) <= 300 && first_ttl(out, m) >= 299, "TTL not above the original");
    struct dns_query other = query("www.example.", 1);
    other.qtype = DNS_T_AAAA;
    CHECK(cache_get(c, &other, out, sizeof out) == 0, "another type is another entry");
    CHECK(cache_get(c, &q, out, 10) == 0, "no room: nothing is copied");
    cache_free(c);
}

static void test_what_is_not_kept(void)
{
    struct dns_cache *c = cache_new(8);
    uint8_t msg[512], out[512];
    struct dns_query q = query("a.example.", 7);
    size_t n = answer_msg(&q, DNS_R_SERVFAIL, 0, 0, 0, msg, sizeof msg);
    cache_put(c, &q, msg, n);
    CHECK(cache_get(c, &q, out, sizeof out) == 0, "SERVFAIL is not kept");
    n = answer_msg(&q, DNS_R_NXDOMAIN, 0, 0, 0, msg, sizeof msg);
    cache_put(c, &q, msg, n);
    CHECK(cache_get(c, &q, out, sizeof out) == 0, "NXDOMAIN without an SOA is not kept");
    n = answer_msg(&q, DNS_R_NOERROR, 300, 0, DNS_F_TC, msg, sizeof msg);
    cache_put(c, &q, msg, n);
    CHECK(cache_get(c, &q, out, sizeof out) == 0, "a truncated answer is not kept");
    n = answer_msg(&q, DNS_R_NOERROR, 0, 0, 0, msg, sizeof msg);
    cache_put(c, &q, msg, n);
    CHECK(cache_get(c, &q, out, sizeof out) == 0, "no data and no SOA is not kept");
    cache_free(c);
}

static void test_negative(void)
{
    uint8_t msg[512];
    struct dns_query q = query("nope.example.", 9);
    size_t n = answer_msg(&q, DNS_R_NXDOMAIN, 0, 1, 0, msg, sizeof msg);
    CHECK(cacheable_ttl(msg, n) == 42, "NXDOMAIN kept for min(SOA TTL, minimum): got %u",
          cacheable_ttl(msg, n));
    n = answer_msg(&q, DNS_R_NOERROR, 0, 1, 0, msg, sizeof msg);
    CHECK(cacheable_ttl(msg, n) == 42, "no data kept the same way");
    n = answer_msg(&q, DNS_R_NOERROR, 5, 1, 0, msg, sizeof msg);
    CHECK(cacheable_ttl(msg, n) == 5, "a positive answer: the smallest TTL");
    n = answer_msg(&q, DNS_R_NOERROR, 999999, 0, 0, msg, sizeof msg);
    CHECK(cacheable_ttl(msg, n) == MAX_TTL, "kept a day at the most");
}

static void test_eviction(void)
{
    struct dns_cache *c = cache_new(2);
    uint8_t msg[512], out[512];
    struct dns_query a = query("a.example.", 1), b = query("b.example.", 2),
                     d = query("d.example.", 3);
    size_t n = answer_msg(&a, DNS_R_NOERROR, 300, 0, 0, msg, sizeof msg);
    cache_put(c, &a, msg, n);
    n = answer_msg(&b, DNS_R_NOERROR, 300, 0, 0, msg, sizeof msg);
    cache_put(c, &b, msg, n);
    CHECK(cache_get(c, &a, out, sizeof out) > 0, "a is used, so b is now the oldest");
    n = answer_msg(&d, DNS_R_NOERROR, 300, 0, 0, msg, sizeof msg);
    cache_put(c, &d, msg, n);
    CHECK(cache_get(c, &b, out, sizeof out) == 0, "the least recently used went");
    CHECK(cache_get(c, &a, out, sizeof out) > 0, "the recently used stayed");
    CHECK(cache_get(c, &d, out, sizeof out) > 0, "the new one is there");
    CHECK(c->count == 2, "never more than the bound");
    cache_free(c);
}

int main(void)
{
    test_kept_and_given_back();
    test_what_is_not_kept();
    test_negative();
    test_eviction();
    return unit_done();
}
