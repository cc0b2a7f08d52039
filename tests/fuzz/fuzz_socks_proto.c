/*
 * libFuzzer target for the SOCKS parsers (servers/socks/proto.c): the
 * SOCKS4/4a request, the SOCKS5 greeting, RFC 1929 sub-negotiation,
 * request and UDP header, on arbitrary bytes.  Beyond what the sanitizers
 * catch, it aborts when a result breaks the promises of proto.h:
 *  - a length past the input, or an error that is not one of ours;
 *  - a message whose own bytes parse differently, or whose prefix does
 *    not need more (the parser must not look past the message);
 *  - needing more while a shorter input is already an error or complete;
 *  - strings not terminated or over their bounds, a name with a NUL;
 *  - a UDP header built from a parsed IP address that does not parse back.
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_socks_proto.c -o fuzz_socks_proto
 */
#include "../../servers/socks/proto.c"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*parse_fn)(const uint8_t *p, size_t len, void *out);

static int p4(const uint8_t *p, size_t n, void *o) { return socks4_parse_request(p, n, o); }
static int pg(const uint8_t *p, size_t n, void *o) { return socks5_parse_greeting(p, n, o); }
static int pa(const uint8_t *p, size_t n, void *o) { return socks5_parse_auth(p, n, o); }
static int pr(const uint8_t *p, size_t n, void *o) { return socks5_parse_request(p, n, o); }
static int pu(const uint8_t *p, size_t n, void *o) { return socks5_parse_udp(p, n, o); }

static const parse_fn parsers[] = { p4, pg, pa, pr, pu };

static union {
    struct socks4_request s4;
    struct socks5_greeting g;
    struct socks5_auth a;
    struct socks5_request r;
    struct socks5_udp_header u;
} out, again;

static void check_addr(const struct socks_addr *a)
{
    if (a->atyp == SOCKS_ATYP_NAME) {
        size_t n = strnlen(a->name, sizeof a->name);
        if (n == 0 || n > SOCKS_NAME_MAX)
            abort();
    } else if (a->atyp != SOCKS_ATYP_IPV4 && a->atyp != SOCKS_ATYP_IPV6) {
        abort();
    }
    char buf[SOCKS_NAME_MAX + 16];
    socks_addr_format(a, buf, sizeof buf);
    for (const char *c = buf; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            abort();
}

static void check_result(size_t which, const uint8_t *buf, size_t len, int r)
{
    if (which == 0) {
        if (strnlen(out.s4.userid, sizeof out.s4.userid) > SOCKS4_USERID_MAX)
            abort();
        check_addr(&out.s4.dst);
        if (out.s4.cmd != SOCKS_CONNECT && out.s4.cmd != SOCKS_BIND)
            abort();
    } else if (which == 1) {
        if (out.g.n_methods == 0 || (size_t)r != 2u + out.g.n_methods)
            abort();
    } else if (which == 2) {
        if (out.a.ulen == 0 || strlen(out.a.user) > out.a.ulen || strlen(out.a.pass) > out.a.plen)
            abort();
    } else if (which == 3) {
        check_addr(&out.r.dst);
        if (out.r.cmd < SOCKS_CONNECT || out.r.cmd > SOCKS_UDP_ASSOCIATE)
            abort();
    } else {
        check_addr(&out.u.dst);
        uint8_t h[SOCKS5_REPLY_MAX];
        struct sockaddr_storage ss;
        socklen_t sl;
        if (socks_addr_to_sockaddr(&out.u.dst, &ss, &sl) == 0) {
            size_t n = socks5_udp_header_build(h, sizeof h, (struct sockaddr *)&ss, sl);
            if (n == 0 || socks5_parse_udp(h, n, &again.u) != (int)n ||
                again.u.dst.port != out.u.dst.port)
                abort();
        }
    }
    (void)buf;
    (void)len;
}

static void fuzz_one(size_t which, const uint8_t *buf, size_t len)
{
    parse_fn f = parsers[which];
    int r = f(buf, len, &out);
    if (r < SOCKS_EATYP || (r > 0 && (size_t)r > len) || r > SOCKS_MSG_MAX)
        abort();
    if (r > 0) {
        check_result(which, buf, len, r);
        if (f(buf, (size_t)r, &again) != r || f(buf, (size_t)r - 1, &again) != 0)
            abort();
    } else if (r == 0 && len > 0 && f(buf, len - 1, &again) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    for (size_t i = 0; i < sizeof parsers / sizeof parsers[0]; i++)
        fuzz_one(i, buf, size);
    /* The first byte picks a parser, so each sees inputs made for it. */
    if (size > 0)
        fuzz_one(data[0] % 5, buf + 1, size - 1);
    free(buf);
    return 0;
}
