/*
 * BIND (SOCKS4 CD 2, RFC 1928 CMD 2): the proxy listens for one
 * connection from the application server on the client's behalf.
 *
 * The listening socket is on the address the proxy uses toward the
 * destination (the kernel's route to it), or the address the client
 * reached the proxy on when the request names no host (IP 0).  The first
 * reply shows where it listens, the second who connected; then the two
 * are relayed.  When the request names a host, only its addresses may
 * connect; --deny-dest refuses peers as it refuses destinations.  A peer
 * that may not connect gets the client reply 2 (SOCKS4: 91) and the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <event2/event.h>

#include "conn.h"
#include "endpoint.h"
#include "gale_session.h"
#include "instance.h"
#include "log.h"
#include "reactor.h"
#include "resolver.h"
#include "session.h"
#include "socks.h"

#define BIND_PEERS_MAX 16
#define BIND_TIMEOUT_DEFAULT 120.0
#define BIND_TIMEOUT_FACTOR 12      /* times the connect timeout */

struct socks_bind {
    struct socks_session *s;
    int lfd;                                         /* -1 until listening */
    struct event *ev;
    struct resolve_query *query;                     /* a host name being resolved */
    struct sockaddr_storage want[BIND_PEERS_MAX];    /* who may connect; none: anyone */
    socklen_t want_len[BIND_PEERS_MAX];
    size_t n_want;
};

/* How long BIND waits for its peer: as long as twelve connect attempts,
 * or two minutes when connects have no timeout of their own. */
double bind_timeout(const struct socks_cfg *srv)
{
    double t = srv->connect_timeout * BIND_TIMEOUT_FACTOR;
    return t > 0 ? t : BIND_TIMEOUT_DEFAULT;
}

void bind_free(struct socks_bind *b)
{
    if (b->query)
        resolve_cancel(b->query);
    if (b->ev)
        event_free(b->ev);
    if (b->lfd >= 0)
        close(b->lfd);
    free(b);
}

static void add_want(struct socks_bind *b, const struct sockaddr *sa, socklen_t len)
{
    if (b->n_want == BIND_PEERS_MAX || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
        return;
    socks_unmap(sa, len, &b->want[b->n_want], &b->want_len[b->n_want]);
    b->n_want++;
}

static int peer_wanted(const struct socks_bind *b, const struct sockaddr_storage *peer,
                       socklen_t len)
{
    if (!socks_dest_allowed(b->s->srv, (const struct sockaddr *)peer, len))
        return 0;
    for (size_t i = 0; i < b->n_want; i++)
        if (socks_same_ip((const struct sockaddr *)&b->want[i],
                          (const struct sockaddr *)peer))
            return 1;
    return b->n_want == 0;
}

/* A UDP connect() only looks up the route: nothing is sent. */
int route_source(const struct sockaddr_storage *dst, socklen_t dlen,
                 struct sockaddr_storage *out, socklen_t *olen)
{
    struct sockaddr_storage to = *dst, raw;
    socklen_t rl = sizeof raw;
    if (to.ss_family == AF_INET)
        ((struct sockaddr_in *)&to)->sin_port = htons(9);
    else
        ((struct sockaddr_in6 *)&to)->sin6_port = htons(9);
    int fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    int r = connect(fd, (struct sockaddr *)&to, dlen) == 0 &&
            getsockname(fd, (struct sockaddr *)&raw, &rl) == 0 ? 0 : -1;
    close(fd);
    if (r == 0)
        socks_unmap((struct sockaddr *)&raw, rl, out, olen);
    return r;
}

/* Where to listen, port 0.  SOCKS4 replies carry IPv4 only, so it looks
 * for an IPv4 peer first. */
static void listen_address(struct socks_bind *b, struct sockaddr_storage *ss, socklen_t *len)
{
    size_t pick = 0;
    for (size_t i = 0; b->s->version == 4 && i < b->n_want; i++)
        if (b->want[i].ss_family == AF_INET) {
            pick = i;
            break;
        }
    if (!(b->n_want > 0 && route_source(&b->want[pick], b->want_len[pick], ss, len) == 0) &&
        socks_local_addr(b->s, ss, len) == -1) {
        struct sockaddr_in any = { .sin_family = AF_INET };   /* a unix client */
        memset(ss, 0, sizeof *ss);
        memcpy(ss, &any, sizeof any);
        *len = sizeof any;
    }
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = 0;
}

static void take_peer(struct socks_bind *b, evutil_socket_t lfd)
{
    struct socks_session *s = b->s;
    struct sockaddr_storage raw, peer;
    socklen_t rl = sizeof raw, pl;
    int fd = accept4(lfd, (struct sockaddr *)&raw, &rl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd == -1) {
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
            return;
        socks_fail(s, SOCKS5_GENERAL_FAILURE, "general failure");
        return;
    }
    socks_unmap((struct sockaddr *)&raw, rl, &peer, &pl);
    sockaddr_format((struct sockaddr *)&peer, pl, s->dest_addr, sizeof s->dest_addr);
    log_debug("id=%" PRIu64 " event=bind-accept peer=%s", session_id(s->gs), s->dest_addr);
    if (!peer_wanted(b, &peer, pl)) {
        close(fd);
        socks_fail(s, SOCKS5_NOT_ALLOWED, socks5_rep_text(SOCKS5_NOT_ALLOWED));
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->bind = NULL;
    bind_free(b);   /* one connection only: stop listening */
    if (socks_reply(s, SOCKS5_SUCCEEDED, (struct sockaddr *)&peer, pl) == -1) {
        close(fd);
        socks_end(s, "client closed");
        return;
    }
    socks_relay(s, fd);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct socks_bind *b = arg;
    (void)what;
    instance_push(session_instance(b->s->gs));
    take_peer(b, lfd);
    instance_pop();
}

static int open_listener(struct socks_bind *b, struct sockaddr_storage *bound, socklen_t *blen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    listen_address(b, &ss, &len);
    *blen = sizeof *bound;
    b->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (b->lfd == -1 || bind(b->lfd, (struct sockaddr *)&ss, len) == -1 ||
        listen(b->lfd, 1) == -1 || getsockname(b->lfd, (struct sockaddr *)bound, blen) == -1)
        return -1;
    b->ev = event_new(reactor_base(), b->lfd, EV_READ | EV_PERSIST, on_accept, b);
    return b->ev && event_add(b->ev, NULL) == 0 ? 0 : -1;
}

/* The peers are known: refuse at once when the ruleset refuses them all,
 * else listen and send the first reply. */
static void start_listening(struct socks_bind *b)
{
    struct socks_session *s = b->s;
    struct sockaddr_storage bound;
    socklen_t blen;
    size_t allowed = 0;
    for (size_t i = 0; i < b->n_want; i++)
        allowed += socks_dest_allowed(s->srv, (struct sockaddr *)&b->want[i],
                                      b->want_len[i]) != 0;
    if (b->n_want > 0 && allowed == 0) {
        socks_fail(s, SOCKS5_NOT_ALLOWED, socks5_rep_text(SOCKS5_NOT_ALLOWED));
        return;
    }
    if (open_listener(b, &bound, &blen) == -1) {
        log_debug("id=%" PRIu64 " event=bind-failed error=\"%s\"", session_id(s->gs),
                  strerror(errno));
        socks_fail(s, SOCKS5_GENERAL_FAILURE, "general failure");
        return;
    }
    if (socks_reply(s, SOCKS5_SUCCEEDED, (struct sockaddr *)&bound, blen) == -1) {
        socks_end(s, "client closed");
        return;
    }
    log_debug("id=%" PRIu64 " event=bind-listen port=%d", session_id(s->gs),
              socket_local_port(b->lfd));
}

static void on_resolved(const struct resolved_addr *addrs, size_t n, const char *error,
                        void *arg)
{
    struct socks_bind *b = arg;
    b->query = NULL;
    if (n == 0) {
        log_debug("id=%" PRIu64 " event=bind-resolve error=\"%s\"", session_id(b->s->gs),
                  error ? error : "?");
        socks_fail(b->s, SOCKS5_HOST_UNREACHABLE, socks5_rep_text(SOCKS5_HOST_UNREACHABLE));
        return;
    }
    for (size_t i = 0; i < n; i++)
        add_want(b, (const struct sockaddr *)&addrs[i].sa, addrs[i].len);
    start_listening(b);
}

static int is_any(const struct socks_addr *a)
{
    static const uint8_t zero[16];
    return memcmp(a->ip, zero, a->atyp == SOCKS_ATYP_IPV6 ? 16 : 4) == 0;
}

void cmd_bind(struct socks_session *s)
{
    struct socks_bind *b = calloc(1, sizeof *b);
    if (!b) {
        socks_fail(s, SOCKS5_GENERAL_FAILURE, "general failure");
        return;
    }
    b->s = s;
    b->lfd = -1;
    s->bind = b;
    socks_set_state(s, ST_BIND_WAIT);
    session_timer(s->gs, SESSION_T_REQUEST, bind_timeout(s->srv));
    if (s->dst.atyp == SOCKS_ATYP_NAME) {
        b->query = resolve_host(s->dst.name, s->dst.port, on_resolved, b);
        if (!b->query)
            socks_fail(s, SOCKS5_GENERAL_FAILURE, "general failure");
        return;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    if (!is_any(&s->dst) && socks_addr_to_sockaddr(&s->dst, &ss, &len) == 0)
        add_want(b, (struct sockaddr *)&ss, len);
    start_listening(b);
}
