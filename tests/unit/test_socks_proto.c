/*
 * Unit test of servers/socks/proto.c: every parser on good input, at
 * every truncation point (0: need more) and on each kind of malformed
 * input; the reply and UDP header builders byte for byte; the errno to
 * reply mapping and the address helpers.
 */
#include "../../servers/socks/proto.c"

#include <stdlib.h>

#include "unit.h"

typedef int (*parse_fn)(const uint8_t *p, size_t len, void *out);

/* Each parser behind one signature, its output in a shared union. */
static union {
    struct socks4_request s4;
    struct socks5_greeting g;
    struct socks5_auth a;
    struct socks5_request r;
    struct socks5_udp_header u;
} out;

static int p4(const uint8_t *p, size_t n, void *o) { return socks4_parse_request(p, n, o); }
static int pg(const uint8_t *p, size_t n, void *o) { return socks5_parse_greeting(p, n, o); }
static int pa(const uint8_t *p, size_t n, void *o) { return socks5_parse_auth(p, n, o); }
static int pr(const uint8_t *p, size_t n, void *o) { return socks5_parse_request(p, n, o); }
static int pu(const uint8_t *p, size_t n, void *o) { return socks5_parse_udp(p, n, o); }

/* The whole message parses to its length, even with bytes after it, and
 * every shorter prefix needs more.  Parses into a heap copy of exactly
 * the bytes, so ASan catches any read past them. */
static void check_whole(parse_fn f, const uint8_t *msg, size_t len, const char *what)
{
    uint8_t *buf = malloc(len + 3);
    memcpy(buf, msg, len);
    memcpy(buf + len, "\x05\x01\x00", 3);
    int all = 1;
    for (size_t i = 0; i < len; i++) {
        uint8_t *cut = malloc(i ? i : 1);
        memcpy(cut, msg, i);
        if (f(cut, i, &out) != 0) {
            printf("# %s: prefix of %zu bytes did not need more\n", what, i);
            all = 0;
        }
        free(cut);
    }
    CHECK(all, "%s: every truncation needs more", what);
    CHECK(f(buf, len + 3, &out) == (int)len, "%s: extra bytes are not taken", what);
    CHECK(f(buf, len, &out) == (int)len, "%s: parses to %zu bytes", what, len);
    free(buf);
}

static int parse_err(parse_fn f, const void *msg, size_t len)
{
    uint8_t *buf = malloc(len ? len : 1);
    memcpy(buf, msg, len);
    int r = f(buf, len, &out);
    free(buf);
    return r;
}

#define ERR(f, lit) parse_err((f), (lit), sizeof(lit) - 1)

static void test_socks4(void)
{
    static const uint8_t req[] = { 4, 1, 0x1f, 0x90, 127, 0, 0, 1, 'b', 'o', 'b', 0 };
    check_whole(p4, req, sizeof req, "socks4 connect");
    CHECK(out.s4.cmd == SOCKS_CONNECT && out.s4.dst.atyp == SOCKS_ATYP_IPV4,
          "socks4: connect to an IPv4");
    CHECK(out.s4.dst.port == 8080 && memcmp(out.s4.dst.ip, "\x7f\0\0\x01", 4) == 0,
          "socks4: 127.0.0.1:8080");
    CHECK_STR(out.s4.userid, "bob", "socks4: userid");

    static const uint8_t bind[] = { 4, 2, 0, 21, 10, 0, 0, 2, 0 };
    check_whole(p4, bind, sizeof bind, "socks4 bind, empty userid");
    CHECK(out.s4.cmd == SOCKS_BIND && out.s4.userid[0] == '\0', "socks4: bind, no userid");

    static const uint8_t a4[] = { 4, 1, 0, 80, 0, 0, 0, 9, 'u', 0, 'e', 'x', '.', 'o', 'r', 'g', 0 };
    check_whole(p4, a4, sizeof a4, "socks4a connect");
    CHECK(out.s4.dst.atyp == SOCKS_ATYP_NAME, "socks4a: a name");
    CHECK_STR(out.s4.dst.name, "ex.org", "socks4a: the name");
    CHECK(out.s4.dst.port == 80 && out.s4.dst.ip[3] == 0, "socks4a: port, no IP kept");

    /* 0.0.0.0 is not SOCKS4a: x must not be 0. */
    static const uint8_t zero[] = { 4, 1, 0, 80, 0, 0, 0, 0, 0, 'x', 0 };
    CHECK(parse_err(p4, zero, sizeof zero) == 9, "socks4: DSTIP 0.0.0.0 has no name after it");

    CHECK(ERR(p4, "\x05\x01") == SOCKS_EVERSION, "socks4: wrong version");
    CHECK(ERR(p4, "\x04\x03") == SOCKS_ECMD, "socks4: command 3");
    CHECK(ERR(p4, "\x04\x00") == SOCKS_ECMD, "socks4: command 0");
    CHECK(ERR(p4, "\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00") == SOCKS_EBAD, "socks4a: empty name");

    uint8_t big[8 + 300];
    memcpy(big, "\x04\x01\x00\x50\x01\x02\x03\x04", 8);
    memset(big + 8, 'u', sizeof big - 8);
    CHECK(p4(big, 8 + 255, &out) == 0, "socks4: 255 userid bytes, NUL may come");
    CHECK(p4(big, 8 + 256, &out) == SOCKS_ETOOLONG, "socks4: 256 userid bytes without NUL");
    big[8 + 255] = 0;
    CHECK(p4(big, 8 + 256, &out) == 8 + 256, "socks4: 255-byte userid fits");
    CHECK(strlen(out.s4.userid) == 255, "socks4: whole userid kept");

    uint8_t big4a[8 + 2 + 300];
    memcpy(big4a, "\x04\x01\x00\x50\x00\x00\x00\x01u\x00", 10);
    memset(big4a + 10, 'h', sizeof big4a - 10);
    CHECK(p4(big4a, 10 + 256, &out) == SOCKS_ETOOLONG, "socks4a: 256 name bytes without NUL");
    big4a[10 + 255] = 0;
    CHECK(p4(big4a, 10 + 256, &out) == 10 + 256, "socks4a: 255-byte name fits");
    CHECK(10 + 256 <= SOCKS_MSG_MAX, "the longest message fits SOCKS_MSG_MAX");
}

static void test_greeting(void)
{
    static const uint8_t g[] = { 5, 2, 0, 2 };
    check_whole(pg, g, sizeof g, "greeting");
    CHECK(out.g.n_methods == 2, "greeting: two methods");
    CHECK(socks5_greeting_offers(&out.g, 0) && socks5_greeting_offers(&out.g, 2),
          "greeting: offers 0 and 2");
    CHECK(!socks5_greeting_offers(&out.g, 1), "greeting: not 1");

    uint8_t all[257] = { 5, 255 };
    for (int i = 0; i < 255; i++)
        all[2 + i] = (uint8_t)i;
    check_whole(pg, all, sizeof all, "greeting with 255 methods");
    CHECK(socks5_greeting_offers(&out.g, 254) && !socks5_greeting_offers(&out.g, 255),
          "greeting: 254 offered, 255 not");

    CHECK(ERR(pg, "\x04\x01\x00") == SOCKS_EVERSION, "greeting: version 4");
    CHECK(ERR(pg, "\x05\x00") == SOCKS_EBAD, "greeting: no methods");
}

static void test_auth(void)
{
    static const uint8_t a[] = { 1, 3, 'b', 'o', 'b', 2, 'p', 'w' };
    check_whole(pa, a, sizeof a, "auth");
    CHECK(out.a.ulen == 3 && out.a.plen == 2, "auth: lengths");
    CHECK_STR(out.a.user, "bob", "auth: user");
    CHECK_STR(out.a.pass, "pw", "auth: password");

    static const uint8_t nopass[] = { 1, 1, 'x', 0 };
    check_whole(pa, nopass, sizeof nopass, "auth with an empty password");
    CHECK(out.a.plen == 0 && out.a.pass[0] == '\0', "auth: empty password");

    uint8_t longest[3 + 255 + 255] = { 1, 255 };
    memset(longest + 2, 'u', 255);
    longest[2 + 255] = 255;
    memset(longest + 3 + 255, 'p', 255);
    check_whole(pa, longest, sizeof longest, "auth at 255 + 255");
    CHECK(strlen(out.a.user) == 255 && strlen(out.a.pass) == 255, "auth: long strings kept");

    CHECK(ERR(pa, "\x05\x01x\x01y") == SOCKS_EVERSION, "auth: version 5");
    CHECK(ERR(pa, "\x01\x00\x01y") == SOCKS_EBAD, "auth: empty user");
}

static void test_request(void)
{
    static const uint8_t v4[] = { 5, 1, 0, 1, 10, 1, 2, 3, 0x01, 0xbb };
    check_whole(pr, v4, sizeof v4, "request IPv4");
    CHECK(out.r.cmd == SOCKS_CONNECT && out.r.dst.atyp == SOCKS_ATYP_IPV4 && out.r.dst.port == 443,
          "request: connect 10.1.2.3:443");

    static const uint8_t name[] = { 5, 2, 0, 3, 7, 'e', 'x', '.', 'o', 'r', 'g', '.', 0, 80 };
    check_whole(pr, name, sizeof name, "request name");
    CHECK(out.r.cmd == SOCKS_BIND, "request: bind");
    CHECK_STR(out.r.dst.name, "ex.org.", "request: the name");

    uint8_t v6[22] = { 5, 3, 0, 4 };
    v6[4 + 15] = 1;
    v6[20] = 0x12;
    v6[21] = 0x34;
    check_whole(pr, v6, sizeof v6, "request IPv6");
    CHECK(out.r.cmd == SOCKS_UDP_ASSOCIATE && out.r.dst.atyp == SOCKS_ATYP_IPV6 && out.r.dst.port == 0x1234,
          "request: udp associate [::1]:4660");

    uint8_t longname[4 + 1 + 255 + 2] = { 5, 1, 0, 3, 255 };
    memset(longname + 5, 'a', 255);
    check_whole(pr, longname, sizeof longname, "request with a 255-byte name");
    CHECK(strlen(out.r.dst.name) == 255, "request: long name kept");

    CHECK(ERR(pr, "\x04\x01\x00\x01") == SOCKS_EVERSION, "request: version 4");
    CHECK(ERR(pr, "\x05\x04") == SOCKS_ECMD, "request: command 4");
    CHECK(ERR(pr, "\x05\x00") == SOCKS_ECMD, "request: command 0");
    CHECK(ERR(pr, "\x05\x01\x01") == SOCKS_EBAD, "request: RSV not 0");
    CHECK(ERR(pr, "\x05\x01\x00\x02") == SOCKS_EATYP, "request: ATYP 2");
    CHECK(ERR(pr, "\x05\x01\x00\x00") == SOCKS_EATYP, "request: ATYP 0");
    CHECK(ERR(pr, "\x05\x01\x00\x03\x00\x00\x50") == SOCKS_EBAD, "request: empty name");
    CHECK(ERR(pr, "\x05\x01\x00\x03\x03" "a\0b" "\x00\x50") == SOCKS_EBAD,
          "request: NUL in the name");
}

static void test_udp_parse(void)
{
    static const uint8_t h[] = { 0, 0, 0, 1, 127, 0, 0, 1, 0, 53, 'q', 'u' };
    CHECK(parse_err(pu, h, sizeof h) == 10, "udp: IPv4 header is 10 bytes, payload after");
    CHECK(out.u.frag == 0 && out.u.dst.port == 53, "udp: frag 0, port 53");
    check_whole(pu, h, 10, "udp header");
    static const uint8_t frag[] = { 0, 0, 3, 3, 1, 'x', 0, 7 };
    CHECK(parse_err(pu, frag, sizeof frag) == 8 && out.u.frag == 3,
          "udp: a fragment is parsed, frag 3");
    CHECK_STR(out.u.dst.name, "x", "udp: name");
    CHECK(ERR(pu, "\x00\x01\x00\x01") == SOCKS_EBAD, "udp: RSV not 0");
    CHECK(ERR(pu, "\x00\x00\x00\x05") == SOCKS_EATYP, "udp: ATYP 5");
}

static void check_bytes(const uint8_t *got, size_t n, const void *want, size_t wn, const char *what)
{
    int ok = n == wn && memcmp(got, want, n) == 0;
    CHECK(ok, "%s", what);
    if (!ok) {
        printf("#   got %zu:", n);
        for (size_t i = 0; i < n; i++)
            printf(" %02x", got[i]);
        printf("\n");
    }
}

static void test_replies(void)
{
    uint8_t b[SOCKS5_REPLY_MAX];
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(1080) };
    inet_pton(AF_INET, "192.0.2.7", &in.sin_addr);
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
    inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
    struct sockaddr_in6 mapped = { .sin6_family = AF_INET6, .sin6_port = htons(80) };
    inet_pton(AF_INET6, "::ffff:10.0.0.1", &mapped.sin6_addr);
    const struct sockaddr *sa4 = (const struct sockaddr *)&in, *sa6 = (const struct sockaddr *)&in6;

    size_t n = socks4_reply(b, sizeof b, SOCKS4_GRANTED, sa4, sizeof in);
    check_bytes(b, n, "\x00\x5a\x04\x38\xc0\x00\x02\x07", 8, "socks4 reply 90 with 192.0.2.7:1080");
    n = socks4_reply(b, sizeof b, SOCKS4_REJECTED, NULL, 0);
    check_bytes(b, n, "\x00\x5b\0\0\0\0\0\0", 8, "socks4 reply 91, zeros");
    n = socks4_reply(b, sizeof b, SOCKS4_GRANTED, sa6, sizeof in6);
    check_bytes(b, n, "\x00\x5a\0\0\0\0\0\0", 8, "socks4 reply cannot show IPv6: zeros");
    n = socks4_reply(b, sizeof b, SOCKS4_GRANTED, (const struct sockaddr *)&mapped, sizeof mapped);
    check_bytes(b, n, "\x00\x5a\x00\x50\x0a\x00\x00\x01", 8, "socks4 reply shows mapped IPv6 as IPv4");
    CHECK(socks4_reply(b, 7, 90, NULL, 0) == 0, "socks4 reply: short buffer");

    n = socks5_reply(b, sizeof b, SOCKS5_SUCCEEDED, sa4, sizeof in);
    check_bytes(b, n, "\x05\x00\x00\x01\xc0\x00\x02\x07\x04\x38", 10, "socks5 reply IPv4");
    n = socks5_reply(b, sizeof b, SOCKS5_CONN_REFUSED, NULL, 0);
    check_bytes(b, n, "\x05\x05\x00\x01\0\0\0\0\0\0", 10, "socks5 reply 5, zeros");
    n = socks5_reply(b, sizeof b, SOCKS5_SUCCEEDED, sa6, sizeof in6);
    check_bytes(b, n, "\x05\x00\x00\x04\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x01\xbb", 22,
                "socks5 reply IPv6");
    n = socks5_reply(b, sizeof b, SOCKS5_SUCCEEDED, (const struct sockaddr *)&mapped, sizeof mapped);
    check_bytes(b, n, "\x05\x00\x00\x01\x0a\x00\x00\x01\x00\x50", 10, "socks5 reply mapped as IPv4");
    CHECK(socks5_reply(b, 21, 0, sa6, sizeof in6) == 0, "socks5 reply: IPv6 needs 22 bytes");
    CHECK(socks5_reply(b, 10, 0, sa4, sizeof in) == 10, "socks5 reply: IPv4 fits 10");

    n = socks5_udp_header_build(b, sizeof b, sa4, sizeof in);
    check_bytes(b, n, "\x00\x00\x00\x01\xc0\x00\x02\x07\x04\x38", 10, "udp header IPv4");
    n = socks5_udp_header_build(b, sizeof b, sa6, sizeof in6);
    check_bytes(b, n, "\x00\x00\x00\x04\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x01\xbb", 22,
                "udp header IPv6");
    CHECK(socks5_parse_udp(b, n, &out.u) == 22 && out.u.dst.port == 443 &&
          memcmp(out.u.dst.ip, &in6.sin6_addr, 16) == 0, "udp header: built parses back");
}

static void test_helpers(void)
{
    CHECK(socks5_rep_for_errno(ECONNREFUSED) == 5, "ECONNREFUSED: 5");
    CHECK(socks5_rep_for_errno(ENETUNREACH) == 3, "ENETUNREACH: 3");
    CHECK(socks5_rep_for_errno(EHOSTUNREACH) == 4, "EHOSTUNREACH: 4");
    CHECK(socks5_rep_for_errno(ETIMEDOUT) == 6, "ETIMEDOUT: 6");
    CHECK(socks5_rep_for_errno(EACCES) == 2, "EACCES: 2");
    CHECK(socks5_rep_for_errno(EMFILE) == 1, "other: 1");
    CHECK_STR(socks5_rep_text(0), "succeeded", "rep 0 text");
    CHECK_STR(socks5_rep_text(6), "TTL expired", "rep 6 text");
    CHECK_STR(socks5_rep_text(8), "address type not supported", "rep 8 text");
    CHECK_STR(socks5_rep_text(99), "general failure", "unknown rep text");

    char buf[300];
    struct socks_addr a = { .atyp = SOCKS_ATYP_IPV6, .port = 443 };
    a.ip[15] = 1;
    socks_addr_format(&a, buf, sizeof buf);
    CHECK_STR(buf, "[::1]:443", "format IPv6");
    socks_addr_host(&a, buf, sizeof buf);
    CHECK_STR(buf, "::1", "host IPv6");
    struct socks_addr n = { .atyp = SOCKS_ATYP_NAME, .port = 80 };
    strcpy(n.name, "a\nb c");
    socks_addr_format(&n, buf, sizeof buf);
    CHECK_STR(buf, "a?b c:80", "format name, control byte replaced");
    struct sockaddr_storage ss;
    socklen_t sl;
    CHECK(socks_addr_to_sockaddr(&n, &ss, &sl) == -1, "a name has no sockaddr");
    struct socks_addr v4 = { .atyp = SOCKS_ATYP_IPV4, .ip = { 127, 0, 0, 1 }, .port = 9 };
    CHECK(socks_addr_to_sockaddr(&v4, &ss, &sl) == 0 && ss.ss_family == AF_INET &&
          ((struct sockaddr_in *)&ss)->sin_port == htons(9), "IPv4 sockaddr with its port");
    struct sockaddr_in6 mapped = { .sin6_family = AF_INET6, .sin6_port = htons(7) };
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr);
    socks_unmap((struct sockaddr *)&mapped, sizeof mapped, &ss, &sl);
    CHECK(ss.ss_family == AF_INET && sl == sizeof(struct sockaddr_in) &&
          ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
          "unmap ::ffff:127.0.0.1");

    struct sockaddr_in x = { .sin_family = AF_INET, .sin_port = htons(1) };
    struct sockaddr_in y = { .sin_family = AF_INET, .sin_port = htons(2) };
    x.sin_addr.s_addr = y.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(socks_same_ip((struct sockaddr *)&x, (struct sockaddr *)&y), "same IP, ports aside");
    y.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
    CHECK(!socks_same_ip((struct sockaddr *)&x, (struct sockaddr *)&y), "another IPv4");
    CHECK(!socks_same_ip((struct sockaddr *)&x, (struct sockaddr *)&mapped), "IPv4 and mapped differ");
}

int main(void)
{
    test_socks4();
    test_greeting();
    test_auth();
    test_request();
    test_udp_parse();
    test_replies();
    test_helpers();
    return unit_done();
}
