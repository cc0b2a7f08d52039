/*
 * gale portforward: accept on an endpoint, connect to HOST:PORT, relay
 * both ways.  twistd portforward's options (-p, -h, -d), plus several
 * forwards in one process with --forward ENDPOINT=HOST:PORT.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "conn.h"
#include "connector.h"
#include "endpoint.h"
#include "log.h"
#include "relay.h"
#include "server.h"

#define HOST_MAX 256

struct forward {
    char listen[EP_VALUE_MAX];
    char host[HOST_MAX];
    int port;
    double timeout;
    double idle_timeout;
};

/* -p's default; its address tells whether -p was given. */
static const char default_port[] = "6666";

struct pf_cfg {
    const char *port;
    const char *host;
    long dest_port;
    struct opt_list forwards;
    double connect_timeout;
    double idle_timeout;
    /* filled by check */
    struct forward *fwd;
    size_t n_fwd;
};

enum pf_state {
    PF_CONNECTING,   /* resolving and connecting to the target */
    PF_RELAYING,     /* bytes flow both ways */
};

struct pf_session {
    struct gale_conn *conn;
    const struct forward *fwd;
    enum pf_state state;
    struct connect_job *job;
    struct relay *relay;
    char target[HOST_MAX + 16];
};

/* "HOST:PORT" or "[V6]:PORT" into f; -1 and err when malformed. */
static int parse_target(const char *s, struct forward *f, char *err, size_t errlen)
{
    const char *colon = strrchr(s, ':');
    char *end;
    if (!colon || colon == s) {
        snprintf(err, errlen, "'%s' is not HOST:PORT", s);
        return -1;
    }
    const char *h = s;
    size_t hlen = (size_t)(colon - s);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end || port < 1 || port > 65535) {
        snprintf(err, errlen, "'%s' is not a port from 1 to 65535", colon + 1);
        return -1;
    }
    if (hlen == 0 || hlen >= sizeof f->host) {
        snprintf(err, errlen, "host in '%s' must be 1 to %zu bytes", s, sizeof f->host - 1);
        return -1;
    }
    memcpy(f->host, h, hlen);
    f->host[hlen] = '\0';
    f->port = (int)port;
    return 0;
}

/* "ENDPOINT=HOST:PORT"; the endpoint may hold '=' itself, the target not. */
static int parse_forward(const char *s, struct forward *f, char *err, size_t errlen)
{
    const char *eq = strrchr(s, '=');
    if (!eq || eq == s) {
        snprintf(err, errlen, "'%s' is not ENDPOINT=HOST:PORT", s);
        return -1;
    }
    size_t n = (size_t)(eq - s);
    if (n >= sizeof f->listen) {
        snprintf(err, errlen, "endpoint too long");
        return -1;
    }
    memcpy(f->listen, s, n);
    f->listen[n] = '\0';
    char why[256];
    if (endpoint_check(f->listen, why, sizeof why) == -1 ||
        parse_target(eq + 1, f, why, sizeof why) == -1) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    return 0;
}

static int check_forward(const char *s, char *err, size_t errlen)
{
    struct forward f;
    return parse_forward(s, &f, err, errlen);
}

/* The keys of an ssl: listening endpoint can be read. */
static int check_forward_files(const char *s, char *err, size_t errlen)
{
    struct forward f;
    if (parse_forward(s, &f, err, errlen) == -1)
        return -1;
    return endpoint_check_files(f.listen, err, errlen);
}

static int check_host(const char *s, char *err, size_t errlen)
{
    if (*s == '\0' || strlen(s) >= HOST_MAX) {
        snprintf(err, errlen, "must be 1 to %d bytes", HOST_MAX - 1);
        return -1;
    }
    return 0;
}

/* The -p/-h/-d forward runs unless --forward replaces it (an explicit
 * -p keeps it). */
static int classic_forward_wanted(const struct pf_cfg *cfg)
{
    return cfg->forwards.n == 0 || cfg->port != default_port;
}

static int pf_check(void *p, char *err, size_t errlen)
{
    struct pf_cfg *cfg = p;
    size_t n = cfg->forwards.n + 1;
    cfg->fwd = calloc(n, sizeof *cfg->fwd);
    if (!cfg->fwd) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cfg->forwards.n; i++)
        if (parse_forward(cfg->forwards.v[i], &cfg->fwd[cfg->n_fwd++], err, errlen) == -1)
            return -1;
    if (classic_forward_wanted(cfg)) {
        struct forward *f = &cfg->fwd[cfg->n_fwd++];
        snprintf(f->listen, sizeof f->listen, "%s", cfg->port);
        snprintf(f->host, sizeof f->host, "%s", cfg->host);
        f->port = (int)cfg->dest_port;
    }
    for (size_t i = 0; i < cfg->n_fwd; i++) {
        cfg->fwd[i].timeout = cfg->connect_timeout;
        cfg->fwd[i].idle_timeout = cfg->idle_timeout;
    }
    return 0;
}

static void session_end(struct pf_session *s, const struct relay_stats *st, const char *error)
{
    struct gale_conn *c = s->conn;
    uint64_t up = st ? st->a_to_b : 0, down = st ? st->b_to_a : 0;
    if (error)
        log_info("id=%" PRIu64 " event=close client=%s target=%s to_target=%" PRIu64
                 " to_client=%" PRIu64 " duration=%.3f error=\"%s\"", c->id, conn_peer(c),
                 s->target, up, down, conn_age(c), error);
    else
        log_info("id=%" PRIu64 " event=close client=%s target=%s to_target=%" PRIu64
                 " to_client=%" PRIu64 " duration=%.3f", c->id, conn_peer(c), s->target, up, down,
                 conn_age(c));
    conn_free(c);
    free(s);
}

static void on_relay_done(const struct relay_stats *st, void *arg)
{
    session_end(arg, st, st->error);
}

static void target_name(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        sockaddr_format((struct sockaddr *)&ss, sl, buf, len);
}

static void on_connected(int fd, const char *error, void *arg)
{
    struct pf_session *s = arg;
    s->job = NULL;
    if (fd < 0) {
        session_end(s, NULL, error);
        return;
    }
    target_name(fd, s->target, sizeof s->target);
    struct relay_end client = { s->conn->fd, NULL }, target = { fd, NULL };
    if (s->conn->tls) {
        client.fd = -1;
        client.bev = conn_bufferevent(s->conn);
        if (!client.bev) {
            close(fd);
            session_end(s, NULL, "cannot start TLS");
            return;
        }
    }
    s->conn->fd = -1;   /* the relay owns it now */
    s->state = PF_RELAYING;
    s->relay = relay_start(client, target, on_relay_done, s);
    if (!s->relay)
        session_end(s, NULL, "out of memory");
    else
        relay_set_idle_timeout(s->relay, s->fwd->idle_timeout);
}

static void pf_abort(struct gale_conn *c, void *arg)
{
    struct pf_session *s = arg;
    (void)c;
    if (s->state == PF_CONNECTING) {
        connect_cancel(s->job);
        session_end(s, NULL, "aborted");
    } else {
        relay_abort(s->relay);
    }
}

static void pf_accept(struct gale_conn *c, void *arg)
{
    const struct forward *f = arg;
    struct pf_session *s = calloc(1, sizeof *s);
    if (!s) {
        conn_free(c);
        return;
    }
    s->conn = c;
    s->fwd = f;
    s->state = PF_CONNECTING;
    snprintf(s->target, sizeof s->target, "%s:%d", f->host, f->port);
    c->data = s;
    c->abort = pf_abort;
    log_debug("id=%" PRIu64 " event=accept client=%s", c->id, conn_peer(c));
    s->job = connect_host(f->host, f->port, f->timeout, on_connected, s);
    if (!s->job)
        session_end(s, NULL, "out of memory");
}

static int pf_start(void *p, char *err, size_t errlen)
{
    struct pf_cfg *cfg = p;
    for (size_t i = 0; i < cfg->n_fwd; i++) {
        struct forward *f = &cfg->fwd[i];
        if (!listener_open(f->listen, pf_accept, f, err, errlen))
            return -1;
        log_info("event=forward listen=\"%s\" target=\"%s:%d\"", f->listen, f->host, f->port);
    }
    return 0;
}

static void pf_listens(const void *p, void (*add)(void *ctx, int udp, const char *endpoint),
                       void *ctx)
{
    const struct pf_cfg *cfg = p;
    for (size_t i = 0; i < cfg->n_fwd; i++)
        add(ctx, 0, cfg->fwd[i].listen);
}

static void pf_cleanup(void *p)
{
    struct pf_cfg *cfg = p;
    free(cfg->fwd);
}

#define C(field) OPT_AT(struct pf_cfg, field)

static const struct gale_opt pf_opts[] = {
    { .name = "port", .short_name = 'p', .type = OPT_ENDPOINT, .offset = C(port),
      .metavar = "ENDPOINT", .help = "where to listen: a port or an endpoint",
      .def = default_port, .check = endpoint_check,
      .check_disk = endpoint_check_files },
    { .name = "host", .short_name = 'h', .type = OPT_STRING, .offset = C(host),
      .metavar = "HOST", .help = "the host to forward to", .def = "localhost",
      .check = check_host },
    { .name = "dest_port", .short_name = 'd', .type = OPT_INT, .offset = C(dest_port),
      .metavar = "PORT", .help = "the port to forward to", .def = "6665", .min = 1,
      .max = 65535 },
    { .name = "forward", .type = OPT_LIST, .offset = C(forwards),
      .metavar = "ENDPOINT=HOST:PORT", .help = "another forward; replaces -p/-h/-d unless -p is given",
      .check = check_forward, .check_disk = check_forward_files },
    { .name = "connect-timeout", .type = OPT_DURATION, .offset = C(connect_timeout),
      .metavar = "SECONDS", .help = "give up on each target address after this long",
      .def = "10" },
    { .name = "idle-timeout", .type = OPT_DURATION, .offset = C(idle_timeout),
      .metavar = "SECONDS", .help = "close a connection when no byte has moved for this long (0: never)",
      .def = "0" },
    { 0 }
};

const struct gale_server gale_server_portforward = {
    .name = "portforward",
    .summary = "forward TCP connections to another host and port",
    .description =
        "Accepts connections on an endpoint and relays each one, both ways, to HOST:PORT.\n"
        "HOST is resolved at every connection and each of its addresses is tried in turn.\n"
        "Half-closes are passed on, a slow reader pauses the other side, and plain TCP\n"
        "is relayed with splice() so the bytes never enter user space.",
    .opts = pf_opts,
    .cfg_size = sizeof(struct pf_cfg),
    .check = pf_check,
    .listens = pf_listens,
    .start = pf_start,
    .cleanup = pf_cleanup,
};
