/*
 * The SOCKS commands that connect out or carry datagrams: CONNECT through
 * the core's connector (every resolved address in turn, --deny-dest as
 * its filter), UDP ASSOCIATE through udp_assoc.c, and the relay that
 * CONNECT and BIND (bind.c) end in.  RFC 1928 sections 4 to 7.
 */
#include <errno.h>
#include <inttypes.h>
#include <unistd.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "conn.h"
#include "connector.h"
#include "endpoint.h"
#include "gale_session.h"
#include "log.h"
#include "reactor.h"
#include "relay.h"
#include "session.h"
#include "socks.h"
#include "udp_assoc.h"

int dest_filter(const struct sockaddr *sa, socklen_t len, void *arg)
{
    return socks_dest_allowed(arg, sa, len);
}

static void on_relay_done(const struct relay_stats *st, void *arg)
{
    struct socks_session *s = arg;
    s->relay = NULL;
    s->to_dest += st->a_to_b;
    s->to_client += st->b_to_a;
    if (st->error)
        log_debug("id=%" PRIu64 " event=relay-end error=\"%s\"", session_id(s->gs), st->error);
    session_abort(s->gs, "finished");   /* the relay has closed the socket */
}

/* What the client sent past its request goes to the destination first:
 * one send to a socket just connected takes it whole but in odd cases,
 * where the rest waits in a bufferevent of the destination's (the relay
 * then copies instead of splicing).  -1 when out of memory, the
 * destination then closed. */
static int send_early(struct relay_end *dest, struct evbuffer *early)
{
    size_t n = evbuffer_get_length(early);
    if (n == 0)
        return 0;
    ssize_t w = send(dest->fd, evbuffer_pullup(early, (ev_ssize_t)n), n,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0)
        evbuffer_drain(early, (size_t)w);
    if (evbuffer_get_length(early) == 0 || (w < 0 && errno != EAGAIN && errno != EINTR))
        return 0;   /* sent, or the relay meets the same error */
    struct bufferevent *bev = bufferevent_socket_new(reactor_base(), dest->fd,
                                                     BEV_OPT_CLOSE_ON_FREE);
    if (!bev || evbuffer_add_buffer(bufferevent_get_output(bev), early) == -1) {
        if (bev)
            bufferevent_free(bev);   /* closes the socket */
        else
            close(dest->fd);
        return -1;
    }
    conn_tune_bufferevent(bev);
    dest->fd = -1;
    dest->bev = bev;
    return 0;
}

static void close_end(struct relay_end e)
{
    if (e.bev)
        bufferevent_free(e.bev);
    else if (e.fd >= 0)
        close(e.fd);
}

/* The client's socket goes to the relay (splice() between two plain
 * sockets), after what it sent early; the session lives on, detached,
 * until the relay is done. */
void socks_relay(struct socks_session *s, int fd)
{
    struct relay_end client = { -1, NULL }, dest = { fd, NULL };
    struct evbuffer *early = evbuffer_new();
    if (!early || session_detach(s->gs, &client.fd, &client.bev, early) == -1) {
        close(fd);
        if (early)
            evbuffer_free(early);
        socks_end(s, "general failure");
        return;
    }
    socks_set_state(s, ST_RELAYING);
    s->to_dest += evbuffer_get_length(early);
    int sent = send_early(&dest, early);
    evbuffer_free(early);
    s->outcome = "general failure";
    if (sent == -1) {
        close_end(client);
        session_abort(s->gs, "out of memory");
        return;
    }
    s->relay = relay_start(client, dest, on_relay_done, s);
    if (!s->relay) {
        session_abort(s->gs, "out of memory");   /* relay_start closed both */
        return;
    }
    s->outcome = socks5_rep_text(SOCKS5_SUCCEEDED);
    relay_set_idle_timeout(s->relay, s->srv->idle_timeout);
}

static void on_connected(int fd, int err, const char *error, void *arg)
{
    struct socks_session *s = arg;
    s->job = NULL;
    if (fd < 0) {
        int rep = socks5_rep_for_errno(err);
        log_debug("id=%" PRIu64 " event=connect-failed dest=\"%s\" error=\"%s\"",
                  session_id(s->gs), s->dest_name, error ? error : "?");
        socks_fail(s, rep, socks5_rep_text(rep));
        return;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        sockaddr_format((struct sockaddr *)&ss, sl, s->dest_addr, sizeof s->dest_addr);
    /* The reply shows the address the proxy connected from. */
    sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
        sl = 0;
    if (socks_reply(s, SOCKS5_SUCCEEDED, sl ? (struct sockaddr *)&ss : NULL, sl) == -1) {
        close(fd);
        socks_end(s, "client closed");
        return;
    }
    socks_relay(s, fd);
}

void cmd_connect(struct socks_session *s)
{
    char host[SOCKS_NAME_MAX + 1];
    socks_addr_host(&s->dst, host, sizeof host);
    struct connect_opts o = {
        .timeout = s->srv->connect_timeout,
        .filter = dest_filter,
        .filter_arg = s->srv,
    };
    socks_set_state(s, ST_CONNECTING);
    s->job = connect_host_opts(host, s->dst.port, &o, on_connected, s);
    if (!s->job)
        socks_fail(s, SOCKS5_GENERAL_FAILURE, "general failure");
}

void cmd_udp_associate(struct socks_session *s)
{
    struct sockaddr_storage local, bound;
    socklen_t ll, bl, pl;
    const struct sockaddr *peer = session_peer_addr(s->gs, &pl);
    char err[256];
    /* The client's datagrams are told apart by its IP: a unix socket has none. */
    if (socks_local_addr(s, &local, &ll) == -1) {
        socks_fail(s, SOCKS5_CMD_UNSUPPORTED, socks5_rep_text(SOCKS5_CMD_UNSUPPORTED));
        return;
    }
    s->udp = udp_assoc_open(s->srv, (struct sockaddr *)&local, ll, peer, pl, s->dst.port,
                            session_id(s->gs), err, sizeof err);
    if (!s->udp) {
        log_warnx("id=%" PRIu64 " event=udp-associate error=\"%s\"", session_id(s->gs), err);
        socks_fail(s, SOCKS5_GENERAL_FAILURE, "general failure");
        return;
    }
    udp_assoc_bound(s->udp, &bound, &bl);
    if (socks_reply(s, SOCKS5_SUCCEEDED, (struct sockaddr *)&bound, bl) == -1) {
        socks_end(s, "client closed");
        return;
    }
    s->outcome = socks5_rep_text(SOCKS5_SUCCEEDED);
    socks_set_state(s, ST_UDP);
}
