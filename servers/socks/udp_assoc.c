/*
 * UDP ASSOCIATE (RFC 1928 section 7); see udp_assoc.h.
 *
 * From the client: only its IP, and only its port once known (the one it
 * declared, or else the first datagram's).  The header is stripped,
 * fragments (FRAG != 0) are dropped as the RFC allows, --deny-dest
 * applies, and a host name is resolved through the core's resolver, its
 * answer kept for a minute in a small cache; while a name resolves its
 * datagram waits in one of a few slots (none free: dropped).  From
 * anyone else (--deny-dest aside): a header with the sender's address is
 * put in front and the datagram goes to the client.  Nothing is queued
 * beyond that: a datagram the kernel will not take is dropped, as UDP
 * allows.
 */
#include "udp_assoc.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "instance.h"
#include "log.h"
#include "proto.h"
#include "reactor.h"
#include "resolver.h"
#include "socks.h"

#define DGRAM_MAX SOCKS_DGRAM_MAX
#define HEADER_ROOM SOCKS_DGRAM_ROOM   /* the longest header we put in front */
_Static_assert(SOCKS_DGRAM_ROOM >= SOCKS5_REPLY_MAX, "room for a SOCKS5 header");
#define READ_BATCH 32                  /* datagrams per wake-up and side */
#define PENDING_MAX 8                  /* datagrams waiting for their name */
#define CACHE_SIZE 8                   /* names remembered */
#define CACHE_TTL 60                   /* seconds */

struct pending {
    struct udp_assoc *u;
    struct resolve_query *q;           /* NULL: the slot is free */
    uint8_t *data;
    size_t len;
    char name[SOCKS_NAME_MAX + 1];
};

struct cached_name {
    char name[SOCKS_NAME_MAX + 1];     /* "": empty slot */
    struct sockaddr_storage sa;
    socklen_t len;
    time_t expires;
};

struct udp_assoc {
    const struct socks_cfg *srv;       /* its --deny-dest and datagram buffer */
    struct gale_instance *owner;       /* current in its sockets' events */
    uint64_t id;
    int cfd, ofd;                      /* client side, outside */
    int ofamily;                       /* IPv6 with IPv4 mapped in, or IPv4 */
    struct event *cev, *oev;
    struct sockaddr_storage client;    /* its IP, and its port once known */
    socklen_t client_len;
    int port_known;
    uint64_t to_dest, to_client;
    struct pending pending[PENDING_MAX];
    struct cached_name cache[CACHE_SIZE];
    size_t cache_next;
};

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static uint16_t get_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static time_t now_seconds(void)
{
    struct timeval tv;
    event_base_gettimeofday_cached(reactor_base(), &tv);
    return tv.tv_sec;
}

static void send_out(struct udp_assoc *u, const struct sockaddr_storage *dst, socklen_t dlen,
                     const uint8_t *payload, size_t plen)
{
    struct sockaddr_storage to;
    socklen_t tl;
    socks_unmap((const struct sockaddr *)dst, dlen, &to, &tl);
    if (!socks_dest_allowed(u->srv, (struct sockaddr *)&to, tl))
        return;
    if (to.ss_family == AF_INET && u->ofamily == AF_INET6) {
        /* The dual-stack socket reaches IPv4 as ::ffff:a.b.c.d. */
        struct sockaddr_in in;
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
        memcpy(&in, &to, sizeof in);
        in6.sin6_port = in.sin_port;
        in6.sin6_addr.s6_addr[10] = in6.sin6_addr.s6_addr[11] = 0xff;
        memcpy(&in6.sin6_addr.s6_addr[12], &in.sin_addr, 4);
        memset(&to, 0, sizeof to);
        memcpy(&to, &in6, sizeof in6);
        tl = sizeof in6;
    } else if (to.ss_family != u->ofamily) {
        return;
    }
    if (sendto(u->ofd, payload, plen, MSG_DONTWAIT, (struct sockaddr *)&to, tl) == (ssize_t)plen)
        u->to_dest += plen;
}

static const struct cached_name *cache_find(struct udp_assoc *u, const char *name)
{
    time_t now = now_seconds();
    for (size_t i = 0; i < CACHE_SIZE; i++) {
        const struct cached_name *c = &u->cache[i];
        if (c->name[0] && c->expires > now && strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

static void cache_put(struct udp_assoc *u, const char *name, const struct resolved_addr *a)
{
    struct cached_name *c = &u->cache[u->cache_next];
    u->cache_next = (u->cache_next + 1) % CACHE_SIZE;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->sa = a->sa;
    c->len = a->len;
    c->expires = now_seconds() + CACHE_TTL;
}

static void pending_clear(struct pending *p)
{
    if (p->q)
        resolve_cancel(p->q);
    free(p->data);
    p->q = NULL;
    p->data = NULL;
}

/* The first address the ruleset allows; the port is the datagram's own. */
static void on_name(const struct resolved_addr *addrs, size_t n, const char *error, void *arg)
{
    struct pending *p = arg;
    struct udp_assoc *u = p->u;
    p->q = NULL;
    if (n == 0)
        log_debug("id=%" PRIu64 " event=udp-resolve error=\"%s\"", u->id, error ? error : "?");
    for (size_t i = 0; i < n; i++) {
        if (!socks_dest_allowed(p->u->srv, (const struct sockaddr *)&addrs[i].sa, addrs[i].len))
            continue;
        cache_put(u, p->name, &addrs[i]);
        send_out(u, &addrs[i].sa, addrs[i].len, p->data, p->len);
        break;
    }
    pending_clear(p);
}

static void send_to_name(struct udp_assoc *u, const struct socks_addr *dst, const uint8_t *payload,
                         size_t plen)
{
    const struct cached_name *c = cache_find(u, dst->name);
    if (c) {
        struct sockaddr_storage to = c->sa;
        set_port(&to, dst->port);
        send_out(u, &to, c->len, payload, plen);
        return;
    }
    struct pending *p = NULL;
    for (size_t i = 0; i < PENDING_MAX && !p; i++)
        if (!u->pending[i].q)
            p = &u->pending[i];
    if (!p || !(p->data = malloc(plen ? plen : 1)))
        return;   /* too many names at once: dropped */
    memcpy(p->data, payload, plen);
    p->len = plen;
    p->u = u;
    snprintf(p->name, sizeof p->name, "%s", dst->name);
    p->q = resolve_host(dst->name, dst->port, on_name, p);
    if (!p->q)
        pending_clear(p);
}

static int from_client(struct udp_assoc *u, const struct sockaddr_storage *raw, socklen_t rl)
{
    struct sockaddr_storage src;
    socklen_t sl;
    socks_unmap((const struct sockaddr *)raw, rl, &src, &sl);
    if (!socks_same_ip((struct sockaddr *)&src, (struct sockaddr *)&u->client))
        return 0;
    if (!u->port_known) {
        set_port(&u->client, get_port(&src));
        u->port_known = 1;
    }
    return get_port(&src) == get_port(&u->client);
}

static void client_datagram(struct udp_assoc *u, const uint8_t *p, size_t n)
{
    struct socks5_udp_header h;
    int hl = socks5_parse_udp(p, n, &h);
    if (hl <= 0 || h.frag != 0)
        return;   /* malformed, or a fragment: dropped (RFC 1928 section 7) */
    const uint8_t *payload = p + hl;
    size_t plen = n - (size_t)hl;
    if (h.dst.atyp == SOCKS_ATYP_NAME) {
        send_to_name(u, &h.dst, payload, plen);
        return;
    }
    struct sockaddr_storage to;
    socklen_t tl;
    if (socks_addr_to_sockaddr(&h.dst, &to, &tl) == 0)
        send_out(u, &to, tl, payload, plen);
}

static void read_client_readable(struct udp_assoc *u, evutil_socket_t fd)
{
    uint8_t *dgram = u->srv->dgram;
    for (int i = 0; i < READ_BATCH; i++) {
        struct sockaddr_storage src;
        socklen_t sl = sizeof src;
        ssize_t n = recvfrom(fd, dgram, DGRAM_MAX, MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
        if (n < 0)
            return;
        if (from_client(u, &src, sl))
            client_datagram(u, dgram, (size_t)n);
    }
}

static void on_client_readable(evutil_socket_t fd, short what, void *arg)
{
    struct udp_assoc *u = arg;
    (void)what;
    instance_push(u->owner);
    read_client_readable(u, fd);
    instance_pop();
}

static void read_outside_readable(struct udp_assoc *u, evutil_socket_t fd)
{
    uint8_t hdr[HEADER_ROOM], *dgram = u->srv->dgram;
    for (int i = 0; i < READ_BATCH; i++) {
        struct sockaddr_storage raw, src;
        socklen_t rl = sizeof raw, sl;
        ssize_t n = recvfrom(fd, dgram + HEADER_ROOM, DGRAM_MAX, MSG_DONTWAIT,
                             (struct sockaddr *)&raw, &rl);
        if (n < 0)
            return;
        socks_unmap((struct sockaddr *)&raw, rl, &src, &sl);
        if (!u->port_known || !socks_dest_allowed(u->srv, (struct sockaddr *)&src, sl))
            continue;
        size_t hl = socks5_udp_header_build(hdr, sizeof hdr, (struct sockaddr *)&src, sl);
        uint8_t *start = dgram + HEADER_ROOM - hl;
        memcpy(start, hdr, hl);
        if (sendto(u->cfd, start, hl + (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&u->client,
                   u->client_len) == (ssize_t)(hl + (size_t)n))
            u->to_client += (uint64_t)n;
    }
}

static void on_outside_readable(evutil_socket_t fd, short what, void *arg)
{
    struct udp_assoc *u = arg;
    (void)what;
    instance_push(u->owner);
    read_outside_readable(u, fd);
    instance_pop();
}

/* A socket bound to ss (its port set to 0), with its event. */
static int open_socket(struct sockaddr_storage *ss, socklen_t len, int dual,
                       event_callback_fn cb, struct udp_assoc *u, struct event **ev)
{
    set_port(ss, 0);
    int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    if (dual) {
        int zero = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
    if (bind(fd, (struct sockaddr *)ss, len) == 0 &&
        (*ev = event_new(reactor_base(), fd, EV_READ | EV_PERSIST, cb, u)) != NULL) {
        if (event_add(*ev, NULL) == 0)
            return fd;
        event_free(*ev);
        *ev = NULL;
    }
    close(fd);
    return -1;
}

/* Every address of either family for the outside, IPv4 only without IPv6. */
static int open_outside(struct udp_assoc *u)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in6 any6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
    memcpy(&ss, &any6, sizeof any6);   /* never written through another type */
    u->ofamily = AF_INET6;
    u->ofd = open_socket(&ss, sizeof any6, 1, on_outside_readable, u, &u->oev);
    if (u->ofd >= 0)
        return 0;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_INET;
    u->ofamily = AF_INET;
    u->ofd = open_socket(&ss, sizeof(struct sockaddr_in), 0, on_outside_readable, u, &u->oev);
    return u->ofd >= 0 ? 0 : -1;
}

struct udp_assoc *udp_assoc_open(const struct socks_cfg *srv,
                                 const struct sockaddr *local, socklen_t local_len,
                                 const struct sockaddr *client, socklen_t client_len,
                                 uint16_t client_port, uint64_t id, char *err, size_t errlen)
{
    struct udp_assoc *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    u->srv = srv;
    u->owner = instance_current();
    u->id = id;
    u->cfd = u->ofd = -1;
    socks_unmap(client, client_len, &u->client, &u->client_len);
    if (client_port) {
        set_port(&u->client, client_port);
        u->port_known = 1;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    socks_unmap(local, local_len, &ss, &sl);
    if (u->client.ss_family != AF_INET && u->client.ss_family != AF_INET6) {
        snprintf(err, errlen, "the client has no IP address");
    } else if ((u->cfd = open_socket(&ss, sl, 0, on_client_readable, u, &u->cev)) == -1 ||
               open_outside(u) == -1) {
        snprintf(err, errlen, "udp socket: %s", strerror(errno));
    } else {
        return u;
    }
    udp_assoc_free(u);
    return NULL;
}

void udp_assoc_bound(const struct udp_assoc *u, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_storage raw;
    socklen_t rl = sizeof raw;
    if (getsockname(u->cfd, (struct sockaddr *)&raw, &rl) == -1) {
        memset(ss, 0, sizeof *ss);
        *len = 0;
        return;
    }
    socks_unmap((struct sockaddr *)&raw, rl, ss, len);
}

void udp_assoc_counts(const struct udp_assoc *u, uint64_t *to_dest, uint64_t *to_client)
{
    *to_dest += u->to_dest;
    *to_client += u->to_client;
}

void udp_assoc_free(struct udp_assoc *u)
{
    for (size_t i = 0; i < PENDING_MAX; i++)
        pending_clear(&u->pending[i]);
    if (u->cev)
        event_free(u->cev);
    if (u->oev)
        event_free(u->oev);
    if (u->cfd >= 0)
        close(u->cfd);
    if (u->ofd >= 0)
        close(u->ofd);
    free(u);
}
