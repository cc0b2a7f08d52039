/* Unit tests for common/cidr.c: parsing ranges and matching peers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "cidr.h"
#include "unit.h"

static struct sockaddr_storage v4(const char *a)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    inet_pton(AF_INET, a, &in->sin_addr);
    return ss;
}

static struct sockaddr_storage v6(const char *a)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, a, &in6->sin6_addr);
    return ss;
}

static int matches(const char *range, struct sockaddr_storage ss)
{
    struct cidr c;
    char err[128];
    if (cidr_parse(range, &c, err, sizeof err) == -1)
        return -1;
    return cidr_match(&c, (struct sockaddr *)&ss);
}

static void test_parse(void)
{
    struct cidr c;
    char err[128];
    CHECK(cidr_parse("10.0.0.0/8", &c, err, sizeof err) == 0 && c.bits == 8, "v4 range");
    CHECK(cidr_parse("::1", &c, err, sizeof err) == 0 && c.bits == 128, "bare v6 is /128");
    CHECK(cidr_parse("192.0.2.7", &c, err, sizeof err) == 0 && c.bits == 32, "bare v4 is /32");
    CHECK(cidr_parse("fc00::/7", &c, err, sizeof err) == 0 && c.family == AF_INET6, "v6 range");
    CHECK(cidr_parse("0.0.0.0/0", &c, err, sizeof err) == 0 && c.bits == 0, "/0");
    const char *bad[] = { "", "/8", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0/8",
                          "10.0.0.0/8x", "host.example", "10.0.0.0/-1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(cidr_parse(bad[i], &c, err, sizeof err) == -1, "'%s' refused", bad[i]);
        CHECK_HAS(err, "is not an address", "message for '%s'", bad[i]);
    }
}

static void test_match(void)
{
    CHECK(matches("10.0.0.0/8", v4("10.200.1.1")) == 1, "inside /8");
    CHECK(matches("10.0.0.0/8", v4("11.0.0.1")) == 0, "outside /8");
    CHECK(matches("172.16.0.0/12", v4("172.31.255.255")) == 1, "/12 upper edge");
    CHECK(matches("172.16.0.0/12", v4("172.32.0.0")) == 0, "/12 just past");
    CHECK(matches("127.0.0.0/8", v6("::ffff:127.0.0.1")) == 1, "v4-mapped peer matches v4");
    CHECK(matches("::1", v6("::1")) == 1, "v6 loopback");
    CHECK(matches("::1", v4("127.0.0.1")) == 0, "v6 rule, v4 peer");
    CHECK(matches("fc00::/7", v6("fd12::1")) == 1, "ULA inside fc00::/7");
    CHECK(matches("fc00::/7", v6("fe80::1")) == 0, "link-local outside");
    CHECK(matches("0.0.0.0/0", v4("203.0.113.9")) == 1, "/0 matches all v4");
    struct cidr list[2];
    char err[64];
    cidr_parse("10.0.0.0/8", &list[0], err, sizeof err);
    cidr_parse("::1", &list[1], err, sizeof err);
    struct sockaddr_storage a = v6("::1"), b = v4("192.0.2.1");
    CHECK(cidr_match_any(list, 2, (struct sockaddr *)&a), "any: second rule");
    CHECK(!cidr_match_any(list, 2, (struct sockaddr *)&b), "any: none");
}

int main(void)
{
    test_parse();
    test_match();
    return unit_done();
}
