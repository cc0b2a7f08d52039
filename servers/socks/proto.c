/*
 * The SOCKS4, SOCKS4a and SOCKS5 (RFC 1928, RFC 1929) wire formats; see
 * proto.h.  Pure functions: no I/O, no allocation, every length checked
 * against the bytes received before it is used.
 */
#include "proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* The family of any sockaddr, read without type punning: callers pass
 * sockaddr_in, sockaddr_in6 and sockaddr_storage objects as sockaddr,
 * which the aliasing rules do not let the compiler see through. */
static sa_family_t family_of(const void *sa)
{
    sa_family_t f;
    memcpy(&f, (const char *)sa + offsetof(struct sockaddr, sa_family), sizeof f);
    return f;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

/* A NUL-terminated string at p[0..len) of at most max bytes, copied to
 * out (max + 1 bytes).  Returns its length with the NUL, 0 while the NUL
 * may still come, SOCKS_ETOOLONG once max bytes have come without it. */
static int take_cstring(const uint8_t *p, size_t len, size_t max, char *out)
{
    size_t look = len < max + 1 ? len : max + 1;
    const uint8_t *nul = memchr(p, 0, look);
    if (!nul)
        return len > max ? SOCKS_ETOOLONG : 0;
    size_t n = (size_t)(nul - p);
    memcpy(out, p, n);
    out[n] = '\0';
    return (int)n + 1;
}

/* SOCKS4a marks a name with DSTIP 0.0.0.x, x not 0. */
static int is_socks4a(const uint8_t ip[4])
{
    return ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0;
}

int socks4_parse_request(const uint8_t *p, size_t len, struct socks4_request *r)
{
    if (len < 1)
        return 0;
    if (p[0] != 4)
        return SOCKS_EVERSION;
    if (len < 2)
        return 0;
    if (p[1] != SOCKS_CONNECT && p[1] != SOCKS_BIND)
        return SOCKS_ECMD;
    if (len < 8)
        return 0;
    memset(r, 0, sizeof *r);
    r->cmd = p[1];
    r->dst.atyp = SOCKS_ATYP_IPV4;
    r->dst.port = get16(p + 2);
    memcpy(r->dst.ip, p + 4, 4);
    int u = take_cstring(p + 8, len - 8, SOCKS4_USERID_MAX, r->userid);
    if (u <= 0)
        return u;
    size_t at = 8 + (size_t)u;
    if (!is_socks4a(r->dst.ip))
        return (int)at;
    int h = take_cstring(p + at, len - at, SOCKS_NAME_MAX, r->dst.name);
    if (h <= 0)
        return h;
    if (h == 1)
        return SOCKS_EBAD;   /* an empty name */
    r->dst.atyp = SOCKS_ATYP_NAME;
    memset(r->dst.ip, 0, sizeof r->dst.ip);
    return (int)(at + (size_t)h);
}

int socks5_parse_greeting(const uint8_t *p, size_t len, struct socks5_greeting *g)
{
    if (len < 1)
        return 0;
    if (p[0] != 5)
        return SOCKS_EVERSION;
    if (len < 2)
        return 0;
    if (p[1] == 0)
        return SOCKS_EBAD;
    size_t n = p[1];
    if (len < 2 + n)
        return 0;
    g->n_methods = (uint8_t)n;
    memcpy(g->methods, p + 2, n);
    return (int)(2 + n);
}

int socks5_greeting_offers(const struct socks5_greeting *g, uint8_t method)
{
    return memchr(g->methods, method, g->n_methods) != NULL;
}

int socks5_parse_auth(const uint8_t *p, size_t len, struct socks5_auth *a)
{
    if (len < 1)
        return 0;
    if (p[0] != 1)
        return SOCKS_EVERSION;
    if (len < 2)
        return 0;
    size_t ulen = p[1];
    if (ulen == 0)
        return SOCKS_EBAD;
    if (len < 3 + ulen)
        return 0;
    size_t plen = p[2 + ulen];
    if (len < 3 + ulen + plen)
        return 0;
    a->ulen = ulen;
    a->plen = plen;
    memcpy(a->user, p + 2, ulen);
    a->user[ulen] = '\0';
    memcpy(a->pass, p + 3 + ulen, plen);
    a->pass[plen] = '\0';
    return (int)(3 + ulen + plen);
}

/* ATYP, ADDR and PORT, shared by requests and UDP headers. */
static int parse_addr(const uint8_t *p, size_t len, struct socks_addr *a)
{
    if (len < 1)
        return 0;
    size_t alen, at = 1;
    switch (p[0]) {
    case SOCKS_ATYP_IPV4:
        alen = 4;
        break;
    case SOCKS_ATYP_IPV6:
        alen = 16;
        break;
    case SOCKS_ATYP_NAME:
        if (len < 2)
            return 0;
        alen = p[1];
        at = 2;
        if (alen == 0)
            return SOCKS_EBAD;
        break;
    default:
        return SOCKS_EATYP;
    }
    if (len < at + alen + 2)
        return 0;
    memset(a, 0, sizeof *a);
    a->atyp = p[0];
    if (a->atyp == SOCKS_ATYP_NAME) {
        if (memchr(p + at, 0, alen))
            return SOCKS_EBAD;
        memcpy(a->name, p + at, alen);
        a->name[alen] = '\0';
    } else {
        memcpy(a->ip, p + at, alen);
    }
    a->port = get16(p + at + alen);
    return (int)(at + alen + 2);
}

int socks5_parse_request(const uint8_t *p, size_t len, struct socks5_request *r)
{
    if (len < 1)
        return 0;
    if (p[0] != 5)
        return SOCKS_EVERSION;
    if (len < 2)
        return 0;
    if (p[1] < SOCKS_CONNECT || p[1] > SOCKS_UDP_ASSOCIATE)
        return SOCKS_ECMD;
    if (len < 3)
        return 0;
    if (p[2] != 0)
        return SOCKS_EBAD;
    int n = parse_addr(p + 3, len - 3, &r->dst);
    if (n <= 0)
        return n;
    r->cmd = p[1];
    return 3 + n;
}

int socks5_parse_udp(const uint8_t *p, size_t len, struct socks5_udp_header *h)
{
    if (len < 2)
        return 0;
    if (p[0] != 0 || p[1] != 0)
        return SOCKS_EBAD;
    if (len < 3)
        return 0;
    int n = parse_addr(p + 3, len - 3, &h->dst);
    if (n <= 0)
        return n;
    h->frag = p[2];
    return 3 + n;
}

int socks_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
    sa_family_t f = family_of(a);
    if (f != family_of(b))
        return 0;
    if (f == AF_INET)
        return memcmp((const char *)a + offsetof(struct sockaddr_in, sin_addr),
                      (const char *)b + offsetof(struct sockaddr_in, sin_addr), 4) == 0;
    if (f == AF_INET6)
        return memcmp((const char *)a + offsetof(struct sockaddr_in6, sin6_addr),
                      (const char *)b + offsetof(struct sockaddr_in6, sin6_addr), 16) == 0;
    return 0;
}

void socks_unmap(const struct sockaddr *sa, socklen_t len, struct sockaddr_storage *out,
                 socklen_t *outlen)
{
    struct sockaddr_in6 in6;
    if (family_of(sa) == AF_INET6 && len >= sizeof in6) {
        memcpy(&in6, sa, sizeof in6);
        if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
            struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = in6.sin6_port };
            memcpy(&in.sin_addr, &in6.sin6_addr.s6_addr[12], 4);
            memset(out, 0, sizeof *out);
            memcpy(out, &in, sizeof in);
            *outlen = sizeof in;
            return;
        }
    }
    size_t n = len <= sizeof *out ? len : sizeof *out;
    memset(out, 0, sizeof *out);
    memcpy(out, sa, n);
    *outlen = (socklen_t)n;
}

/* ATYP, address and port of sa (IPv4 when mapped); 0 when out is short.
 * A missing or unknown address is IPv4 0.0.0.0 port 0. */
static size_t put_addr(uint8_t *out, size_t cap, const struct sockaddr *sa, socklen_t len)
{
    struct sockaddr_storage ss = { .ss_family = AF_UNSPEC };
    socklen_t sl = 0;
    if (sa)
        socks_unmap(sa, len, &ss, &sl);
    sa_family_t f = family_of(&ss);
    const char *raw = (const char *)&ss;
    if (f == AF_INET6 && sl >= sizeof(struct sockaddr_in6)) {
        if (cap < 19)
            return 0;
        out[0] = SOCKS_ATYP_IPV6;
        memcpy(out + 1, raw + offsetof(struct sockaddr_in6, sin6_addr), 16);
        memcpy(out + 17, raw + offsetof(struct sockaddr_in6, sin6_port), 2);
        return 19;
    }
    if (cap < 7)
        return 0;
    out[0] = SOCKS_ATYP_IPV4;
    memset(out + 1, 0, 6);
    if (f == AF_INET && sl >= sizeof(struct sockaddr_in)) {
        memcpy(out + 1, raw + offsetof(struct sockaddr_in, sin_addr), 4);
        memcpy(out + 5, raw + offsetof(struct sockaddr_in, sin_port), 2);
    }
    return 7;
}

size_t socks4_reply(uint8_t *out, size_t cap, int cd, const struct sockaddr *sa, socklen_t len)
{
    uint8_t a[19];
    if (cap < SOCKS4_REPLY_LEN)
        return 0;
    out[0] = 0;
    out[1] = (uint8_t)cd;
    memset(out + 2, 0, 6);
    if (put_addr(a, sizeof a, sa, len) == 7) {
        memcpy(out + 2, a + 5, 2);   /* DSTPORT comes before DSTIP */
        memcpy(out + 4, a + 1, 4);
    }
    return SOCKS4_REPLY_LEN;
}

size_t socks5_reply(uint8_t *out, size_t cap, int rep, const struct sockaddr *sa, socklen_t len)
{
    if (cap < 3)
        return 0;
    size_t n = put_addr(out + 3, cap - 3, sa, len);
    if (n == 0)
        return 0;
    out[0] = 5;
    out[1] = (uint8_t)rep;
    out[2] = 0;
    return 3 + n;
}

size_t socks5_udp_header_build(uint8_t *out, size_t cap, const struct sockaddr *sa,
                               socklen_t len)
{
    if (cap < 3)
        return 0;
    size_t n = put_addr(out + 3, cap - 3, sa, len);
    if (n == 0)
        return 0;
    out[0] = out[1] = out[2] = 0;
    return 3 + n;
}

const char *socks5_rep_text(int rep)
{
    static const char *const text[] = {
        "succeeded", "general failure", "not allowed by ruleset", "network unreachable",
        "host unreachable", "connection refused", "TTL expired", "command not supported",
        "address type not supported",
    };
    if (rep < 0 || (size_t)rep >= sizeof text / sizeof text[0])
        return "general failure";
    return text[rep];
}

/* A connect that timed out is told as TTL expired (6): the nearest of the
 * RFC's codes, and it keeps a silent host apart from one that answered
 * with an ICMP unreachable (3, 4). */
int socks5_rep_for_errno(int err)
{
    switch (err) {
    case 0:
        return SOCKS5_SUCCEEDED;
    case ECONNREFUSED:
        return SOCKS5_CONN_REFUSED;
    case ENETUNREACH:
        return SOCKS5_NET_UNREACHABLE;
    case EHOSTUNREACH:
        return SOCKS5_HOST_UNREACHABLE;
    case ETIMEDOUT:
        return SOCKS5_TTL_EXPIRED;
    case EACCES:
        return SOCKS5_NOT_ALLOWED;
    default:
        return SOCKS5_GENERAL_FAILURE;
    }
}

int socks_addr_to_sockaddr(const struct socks_addr *a, struct sockaddr_storage *ss,
                           socklen_t *len)
{
    /* Built apart and copied in, so the storage is never written through
     * another struct type. */
    memset(ss, 0, sizeof *ss);
    if (a->atyp == SOCKS_ATYP_IPV4) {
        struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(a->port) };
        memcpy(&in.sin_addr, a->ip, 4);
        memcpy(ss, &in, sizeof in);
        *len = sizeof in;
        return 0;
    }
    if (a->atyp == SOCKS_ATYP_IPV6) {
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(a->port) };
        memcpy(&in6.sin6_addr, a->ip, 16);
        memcpy(ss, &in6, sizeof in6);
        *len = sizeof in6;
        return 0;
    }
    return -1;
}

void socks_addr_host(const struct socks_addr *a, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    if (a->atyp == SOCKS_ATYP_NAME)
        snprintf(buf, len, "%s", a->name);
    else if (!inet_ntop(a->atyp == SOCKS_ATYP_IPV6 ? AF_INET6 : AF_INET, a->ip, buf,
                        (socklen_t)len))
        buf[0] = '\0';
}

void socks_addr_format(const struct socks_addr *a, char *buf, size_t len)
{
    char host[SOCKS_NAME_MAX + 1];
    socks_addr_host(a, host, sizeof host);
    for (char *c = host; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    if (a->atyp == SOCKS_ATYP_IPV6)
        snprintf(buf, len, "[%s]:%u", host, a->port);
    else
        snprintf(buf, len, "%s:%u", host, a->port);
}
