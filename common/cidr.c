/* Address ranges; see cidr.h. */
#include "cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen)
{
    char addr[INET6_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    memset(out, 0, sizeof *out);
    if (n == 0 || n >= sizeof addr)
        goto bad;
    memcpy(addr, s, n);
    addr[n] = '\0';
    out->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(out->family, addr, out->addr) != 1)
        goto bad;
    int max = out->family == AF_INET ? 32 : 128;
    out->bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end || b < 0 || b > max)
            goto bad;
        out->bits = (int)b;
    }
    return 0;
bad:
    snprintf(err, errlen, "'%s' is not an address or a range such as 10.0.0.0/8 or fc00::/7", s);
    return -1;
}

int cidr_check(const char *s, char *err, size_t errlen)
{
    struct cidr c;
    return cidr_parse(s, &c, err, errlen);
}

static int prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

int cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return c->family == AF_INET &&
               prefix_equal(c->addr, (const uint8_t *)&in->sin_addr, c->bits);
    }
    if (sa->sa_family != AF_INET6)
        return 0;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    const uint8_t *a = in6->sin6_addr.s6_addr;
    if (c->family == AF_INET6)
        return prefix_equal(c->addr, a, c->bits);
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && prefix_equal(c->addr, a + 12, c->bits);
}

int cidr_match_any(const struct cidr *list, size_t n, const struct sockaddr *sa)
{
    for (size_t i = 0; i < n; i++)
        if (cidr_match(&list[i], sa))
            return 1;
    return 0;
}
