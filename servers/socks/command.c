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

#include "conn.h"
#include "connector.h"
#include "endpoint.h"
#include "log.h"
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
        log_debug("id=%" PRIu64 " event=relay-end error=\"%s\"", s->conn->id, st->error);
    session_end(s, s->outcome);
}

void session_relay(struct socks_session *s, int fd)
{
    uint64_t early;
    session_set_timer(s, 0);
    session_set_state(s, ST_RELAYING);
    s->outcome = socks5_rep_text(SOCKS5_SUCCEEDED);
    s->relay = io_relay(&s->io, fd, on_relay_done, s, &early);
    if (!s->relay) {
        session_end(s, "general failure");
        return;
    }
    s->to_dest += early;
    relay_set_idle_timeout(s->relay, s->srv->idle_timeout);
}

static void on_connected(int fd, int err, const char *error, void *arg)
{
    struct socks_session *s = arg;
    s->job = NULL;
    if (fd < 0) {
        int rep = socks5_rep_for_errno(err);
        log_debug("id=%" PRIu64 " event=connect-failed dest=\"%s\" error=\"%s\"", s->conn->id,
                  s->dest_name, error ? error : "?");
        session_fail(s, rep, socks5_rep_text(rep));
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
    if (session_reply(s, SOCKS5_SUCCEEDED, sl ? (struct sockaddr *)&ss : NULL, sl) == -1) {
        close(fd);
        session_end(s, "client closed");
        return;
    }
    session_relay(s, fd);
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
    session_set_state(s, ST_CONNECTING);
    session_watch_client(s);
    s->job = connect_host_opts(host, s->dst.port, &o, on_connected, s);
    if (!s->job)
        session_fail(s, SOCKS5_GENERAL_FAILURE, "general failure");
}

void cmd_udp_associate(struct socks_session *s)
{
    struct gale_conn *c = s->conn;
    struct sockaddr_storage local, bound;
    socklen_t ll, bl;
    char err[256];
    /* The client's datagrams are told apart by its IP: a unix socket has none. */
    if (io_local(&s->io, &local, &ll) == -1) {
        session_fail(s, SOCKS5_CMD_UNSUPPORTED, socks5_rep_text(SOCKS5_CMD_UNSUPPORTED));
        return;
    }
    s->udp = udp_assoc_open(s->srv, (struct sockaddr *)&local, ll, (struct sockaddr *)&c->peer_addr,
                            c->peer_len, s->dst.port, c->id, err, sizeof err);
    if (!s->udp) {
        log_warnx("id=%" PRIu64 " event=udp-associate error=\"%s\"", c->id, err);
        session_fail(s, SOCKS5_GENERAL_FAILURE, "general failure");
        return;
    }
    udp_assoc_bound(s->udp, &bound, &bl);
    if (session_reply(s, SOCKS5_SUCCEEDED, (struct sockaddr *)&bound, bl) == -1) {
        session_end(s, "client closed");
        return;
    }
    s->outcome = socks5_rep_text(SOCKS5_SUCCEEDED);
    session_set_state(s, ST_UDP);
    session_watch_client(s);
}
