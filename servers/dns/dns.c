/*
 * gale dns: an authoritative DNS server for zone files and hosts files,
 * over UDP and TCP (RFC 1035, RFC 7766), with twistd dns's options.
 * Answers come from an index built at load (store.c); a SIGHUP builds a
 * new one and swaps it in only if every file loads.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "cidr.h"
#include "conn.h"
#include "forward.h"
#include "gale_session.h"
#include "log.h"
#include "secondary.h"
#include "server.h"
#include "store.h"
#include "udp.h"
#include "wire.h"
#include "xfr.h"

#define TCP_IDLE_SECONDS 10
#define TCP_MAX_PENDING (64 * 1024)
#define UDP_MAX_ANSWER 4096
#define MAX_ACCESS_RULES 256

struct dns_server;

struct dns_cfg {
    long port;
    const char *interface;
    struct opt_list hosts_files, bindzones, pyzones, allow_transfer, allow_recursion;
    struct opt_list secondaries;
    int recursive;
    int cache;
    long cache_size;
    const char *resolv_conf;
    int verbose;
    struct cidr transfer[MAX_ACCESS_RULES];
    size_t n_transfer;
    struct cidr recursion[MAX_ACCESS_RULES];
    size_t n_recursion;
    struct dns_server *srv;       /* made by start, freed by cleanup */
};

/* One running server: every listener, session and timer of it reaches it
 * through its own argument, so that several can share a process. */
struct dns_server {
    const struct dns_cfg *cfg;
    struct dns_store *store;          /* swapped whole on reload */
    struct dns_forwarder *fwd;        /* -r; NULL otherwise */
    struct dns_secondaries *secs;
    struct session_service *tcp;      /* the TCP listener's sessions */
    uint8_t tcp_out[65535 + 2];       /* a TCP answer, framed, until it is written */
};

/* --- loading --------------------------------------------------------- */

static struct dns_store *load_store(const struct dns_server *srv, char *err, size_t errlen)
{
    const struct dns_cfg *cfg = srv->cfg;
    struct dns_store *st = store_new();
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < cfg->bindzones.n; i++)
        if (store_load_zone_file(st, cfg->bindzones.v[i], err, errlen) == -1)
            goto fail;
    for (size_t i = 0; i < cfg->hosts_files.n; i++)
        if (store_load_hosts_file(st, cfg->hosts_files.v[i], err, errlen) == -1)
            goto fail;
    if (secondary_fill(srv->secs, st, err, errlen) == -1)
        goto fail;
    return st;
fail:
    store_free(st);
    return NULL;
}

/* --- answering ------------------------------------------------------- */

static const char *rcode_name(int rcode)
{
    static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                         "NOTIMP", "REFUSED" };
    return rcode >= 0 && rcode <= 5 ? names[rcode] : "OTHER";
}

static void log_query(const char *client, const struct dns_query *q, int rcode,
                      struct timespec *t0)
{
    struct timespec t1;
    char name[1024];
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (dns_name_to_text(&q->qname, name, sizeof name) < 0)
        snprintf(name, sizeof name, "?");
    double ms = (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
    log_info("event=query client=%s name=\"%s\" type=%u rcode=%s ms=%.3f", client, name,
             q->qtype, rcode_name(rcode), ms);
}

static int transfer_allowed(const struct dns_server *srv, const struct sockaddr *peer)
{
    return cidr_match_any(srv->cfg->transfer, srv->cfg->n_transfer, peer);
}

/* Local data first; then, for clients allowed recursion, the upstream
 * servers; REFUSED otherwise, so gale is never an open resolver.
 * Returns 1 when the query went upstream (the answer comes later). */
static int answer_query(struct dns_server *srv, const struct dns_query *q,
                        struct dns_builder *b, const uint8_t *msg, size_t len,
                        const struct fwd_reply *to)
{
    const struct sockaddr *peer = (const struct sockaddr *)&to->peer;
    if (q->qtype == DNS_T_IXFR && to->udp) {
        xfr_answer_udp(srv->store, q, transfer_allowed(srv, peer), b);
        return 0;
    }
    if (q->qtype != DNS_T_AXFR && q->qtype != DNS_T_IXFR &&
        store_answer(srv->store, q, b) == STORE_ANSWERED)
        return 0;
    if (srv->fwd && q->qtype != DNS_T_AXFR && q->qtype != DNS_T_IXFR &&
        cidr_match_any(srv->cfg->recursion, srv->cfg->n_recursion, peer)) {
        if (forward_start(srv->fwd, msg, len, q, to) == 0)
            return 1;
        dns_begin_answer(b, q, DNS_F_RA, DNS_R_SERVFAIL);
        return 0;
    }
    dns_begin_answer(b, q, 0, DNS_R_REFUSED);
    return 0;
}

/* Builds the answer to msg into out (at most cap bytes).  Returns its
 * length, 0 when it will come later (forwarded), -1 when the message
 * deserves no answer. */
static ssize_t answer(struct dns_server *srv, const uint8_t *msg, size_t len, uint8_t *out,
                      size_t cap, struct fwd_reply *to, const char *client)
{
    int verbose = srv->cfg->verbose;
    struct dns_query q;
    struct dns_builder b;
    struct timespec t0;
    if (verbose)
        clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = dns_parse_query(msg, len, &q);
    if (r == -1)
        return -1;
    size_t limit = cap;
    if (to->udp)
        limit = q.has_edns ? (q.edns_payload < cap ? q.edns_payload : cap) : DNS_UDP_DEFAULT;
    to->limit = limit;
    /* Room is kept for the OPT record, which goes in last. */
    int opt = r == 0 && q.has_edns;
    dns_builder_init(&b, out, opt ? limit - 11 : limit);
    if (r != 0) {
        dns_begin_answer(&b, &q, 0, r);
    } else if (q.opcode == DNS_OP_NOTIFY) {
        /* RFC 1996: acknowledged only for our secondary zones, from their primary. */
        int ours = secondary_notify(srv->secs, &q.qname, (const struct sockaddr *)&to->peer);
        dns_begin_answer(&b, &q, ours ? DNS_F_AA : 0, ours ? DNS_R_NOERROR : DNS_R_REFUSED);
    } else if (q.opcode != DNS_OP_QUERY) {
        dns_begin_answer(&b, &q, 0, DNS_R_NOTIMP);
    } else if (q.has_edns && q.edns_version > 0) {
        dns_begin_answer(&b, &q, 0, DNS_R_BADVERS & 0xF);   /* RFC 6891 6.1.3 */
    } else {
        dns_begin_answer(&b, &q, 0, DNS_R_NOERROR);
        if (answer_query(srv, &q, &b, msg, len, to)) {
            if (verbose)
                log_info("event=forward client=%s id=%u", client, q.hdr.id);
            return 0;
        }
    }
    if (opt) {
        b.cap = limit;
        dns_add_opt(&b, DNS_EDNS_PAYLOAD, 0, q.edns_version > 0 ? DNS_R_BADVERS : 0);
    }
    size_t n = dns_finish(&b);
    if (verbose && r == 0)
        log_query(client, &q, b.hdr.flags & 0xF, &t0);
    return (ssize_t)n;
}

static void on_datagram(struct gale_udp *u, const uint8_t *data, size_t len,
                        const struct sockaddr *peer, socklen_t peerlen, void *arg)
{
    struct dns_server *srv = arg;
    uint8_t out[UDP_MAX_ANSWER];
    char client[80] = "";
    struct fwd_reply to = { .udp = u, .peerlen = peerlen };
    memcpy(&to.peer, peer, peerlen <= sizeof to.peer ? peerlen : sizeof to.peer);
    if (srv->cfg->verbose)
        sockaddr_format(peer, peerlen, client, sizeof client);
    ssize_t n = answer(srv, data, len, out, sizeof out, &to, client);
    if (n > 0)
        udp_send(u, out, (size_t)n, peer, peerlen);
}

/* --- TCP: two-byte length framing, several queries per connection ----- */

struct tcp_session {
    struct dns_server *srv;
    struct gale_session *gs;
};

void dns_tcp_send(void *tcp, const uint8_t *msg, size_t len)
{
    struct tcp_session *t = tcp;
    uint8_t frame[2] = { (uint8_t)(len >> 8), (uint8_t)len };
    struct evbuffer *out = session_output(t->gs);
    evbuffer_add(out, frame, 2);
    evbuffer_add(out, msg, len);
    session_send(t->gs);              /* an upstream's answer comes outside our callbacks */
}

/* Returns 1 when msg was a transfer request (answered or refused). */
static int try_transfer(struct tcp_session *t, const uint8_t *msg, size_t len)
{
    struct dns_query q;
    socklen_t plen;
    if (dns_parse_query(msg, len, &q) != 0 || q.opcode != DNS_OP_QUERY ||
        (q.qtype != DNS_T_AXFR && q.qtype != DNS_T_IXFR))
        return 0;
    xfr_answer_tcp(t->gs, t->srv->store, &q,
                   transfer_allowed(t->srv, session_peer_addr(t->gs, &plen)),
                   session_peer(t->gs));
    return 1;
}

/* One framed query at the head of the input: 1 when taken, 0 when it
 * is not all there yet, -1 when the session is to close. */
static int tcp_one(struct tcp_session *t, struct evbuffer *in)
{
    uint8_t lenbuf[2], *out = t->srv->tcp_out;
    if (evbuffer_copyout(in, lenbuf, 2) < 2)
        return 0;
    size_t len = (size_t)lenbuf[0] << 8 | lenbuf[1];
    if (evbuffer_get_length(in) < len + 2)
        return 0;
    const uint8_t *msg = evbuffer_pullup(in, (ev_ssize_t)len + 2) + 2;
    if (try_transfer(t, msg, len)) {
        evbuffer_drain(in, len + 2);
        return 1;
    }
    struct fwd_reply to = { .tcp = t };
    const struct sockaddr *peer = session_peer_addr(t->gs, &to.peerlen);
    memcpy(&to.peer, peer, to.peerlen <= sizeof to.peer ? to.peerlen : sizeof to.peer);
    ssize_t n = answer(t->srv, msg, len, out + 2, sizeof t->srv->tcp_out - 2, &to,
                       session_peer(t->gs));
    evbuffer_drain(in, len + 2);
    if (n < 0)
        return -1;
    if (n > 0) {                      /* 0: forwarded, dns_tcp_send answers later */
        out[0] = (uint8_t)(n >> 8);
        out[1] = (uint8_t)n;
        evbuffer_add(session_output(t->gs), out, (size_t)n + 2);
    }
    return 1;
}

static void tcp_input(struct gale_session *gs)
{
    struct tcp_session *t = session_data(gs);
    struct evbuffer *in = session_input(gs);
    session_timer(gs, SESSION_T_IDLE, TCP_IDLE_SECONDS);
    for (int r; (r = tcp_one(t, in)) != 0;) {
        if (r < 0) {
            session_abort(gs, "malformed");
            return;
        }
        if (session_pending(gs) > TCP_MAX_PENDING) {
            session_pause(gs, 1);     /* the client reads too slowly */
            session_notify_drained(gs);
            return;
        }
    }
}

static void tcp_drained(struct gale_session *gs)
{
    session_pause(gs, 0);
    tcp_input(gs);
}

static int tcp_open(struct gale_session *gs)
{
    struct tcp_session *t = session_data(gs);
    t->srv = session_server(gs);
    t->gs = gs;
    session_set_send_timeout(gs, TCP_IDLE_SECONDS);
    session_set_input_limit(gs, 2 * (65535 + 2));
    session_timer(gs, SESSION_T_IDLE, TCP_IDLE_SECONDS);
    return 0;
}

static void tcp_close(struct gale_session *gs, const char *why)
{
    struct tcp_session *t = session_data(gs);
    (void)why;
    if (t->srv->fwd)
        forward_drop_tcp(t->srv->fwd, t);
}

/* RFC 7766 6.2.3: idle connections are closed after a few seconds; on
 * shutdown every connection finishes what it was sent (the default). */
static const struct session_proto tcp_proto = {
    .name = "dns-tcp",
    .data_size = sizeof(struct tcp_session),
    .on_open = tcp_open,
    .on_input = tcp_input,
    .on_drained = tcp_drained,
    .on_close = tcp_close,
};

/* --- life cycle ------------------------------------------------------- */

/* The ranges of an access option, or its defaults when it is not given. */
static int parse_rules(const char *option, const struct opt_list *given,
                       const char *const *dflt, size_t n_dflt, struct cidr *out, size_t *n_out,
                       char *err, size_t errlen)
{
    const char *const *rules = given->n ? given->v : dflt;
    size_t n = given->n ? given->n : n_dflt;
    if (n > MAX_ACCESS_RULES) {
        snprintf(err, errlen, "--%s: at most %d ranges", option, MAX_ACCESS_RULES);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (cidr_parse(rules[i], &out[i], err, errlen) == -1)
            return -1;
    *n_out = n;
    return 0;
}

static int dns_check(void *p, char *err, size_t errlen)
{
    struct dns_cfg *cfg = p;
    if (cfg->pyzones.n) {
        snprintf(err, errlen, "--pyzone: Python zone files are twistd's own; write the zone "
                 "in BIND format and give it with --bindzone");
        return -1;
    }
    static const char *const loopback[] = { "127.0.0.0/8", "::1" };
    static const char *const private_nets[] = { "127.0.0.0/8", "::1", "10.0.0.0/8",
                                                "172.16.0.0/12", "192.168.0.0/16", "fc00::/7" };
    if (parse_rules("allow-transfer", &cfg->allow_transfer, loopback, 2, cfg->transfer,
                    &cfg->n_transfer, err, errlen) == -1 ||
        parse_rules("allow-recursion", &cfg->allow_recursion, private_nets, 6,
                    cfg->recursion, &cfg->n_recursion, err, errlen) == -1)
        return -1;
    if (cfg->resolv_conf)
        cfg->recursive = 1;   /* --resolv-conf implies -r */
    if (cfg->recursive && !cfg->resolv_conf)
        cfg->resolv_conf = "/etc/resolv.conf";
    if (cfg->bindzones.n == 0 && cfg->hosts_files.n == 0 && !cfg->recursive &&
        cfg->secondaries.n == 0) {
        snprintf(err, errlen, "nothing to serve: give --bindzone FILE, --hosts-file FILE, "
                 "--secondary PRIMARY/DOMAIN or -r");
        return -1;
    }
    return 0;
}

static int tcp_endpoint(const struct dns_cfg *cfg, char *buf, size_t len)
{
    if (!cfg->interface || !*cfg->interface)
        return snprintf(buf, len, "tcp:%ld", cfg->port);
    /* Colons inside an IPv6 address are escaped for the endpoint syntax. */
    size_t n = (size_t)snprintf(buf, len, "tcp:%ld:interface=", cfg->port);
    for (const char *p = cfg->interface; *p && n + 3 < len; p++) {
        if (*p == ':')
            buf[n++] = '\\';
        buf[n++] = *p;
    }
    buf[n] = '\0';
    return (int)n;
}

static void dns_listens(const void *p, void (*add)(void *ctx, int udp, const char *endpoint),
                        void *ctx)
{
    char ep[256];
    tcp_endpoint(p, ep, sizeof ep);
    add(ctx, 0, ep);
    add(ctx, 1, ep);
}

/* Builds a new index from every file and secondary zone and swaps it in;
 * on failure the old one keeps serving. */
static int swap_store(struct dns_server *srv, const char *event)
{
    char err[512];
    struct dns_store *fresh = load_store(srv, err, sizeof err);
    if (!fresh) {
        log_error("event=%s-failed error=\"%s\" (the old data is still served)", event, err);
        return -1;
    }
    store_free(srv->store);
    srv->store = fresh;
    return 0;
}

/* A secondary zone has a new copy, or expired. */
static void secondary_changed(void *arg)
{
    swap_store(arg, "rebuild");
}

static int dns_start(void *p, char *err, size_t errlen)
{
    struct dns_cfg *cfg = p;
    char ep[256];
    struct dns_server *srv = calloc(1, sizeof *srv);
    if (!srv || !(srv->secs = secondaries_new())) {
        free(srv);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    srv->cfg = cfg;
    cfg->srv = srv;        /* from here on, cleanup frees what start made */
    for (size_t i = 0; i < cfg->secondaries.n; i++)
        if (secondary_add(srv->secs, cfg->secondaries.v[i], err, errlen) == -1)
            return -1;
    if (!(srv->store = load_store(srv, err, errlen)))
        return -1;
    size_t cache_size = cfg->cache ? (size_t)cfg->cache_size : 0;
    if (cfg->recursive &&
        !(srv->fwd = forwarder_open(cfg->resolv_conf, cache_size, err, errlen)))
        return -1;
    if (!udp_open((int)cfg->port, cfg->interface, on_datagram, srv, err, errlen))
        return -1;
    tcp_endpoint(cfg, ep, sizeof ep);
    if (!(srv->tcp = session_service_new(&tcp_proto, srv))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (session_service_listen(srv->tcp, ep, err, errlen) == -1)
        return -1;
    log_info("event=loaded zones=%zu host_names=%zu", store_zone_count(srv->store),
             store_host_names(srv->store));
    secondaries_start(srv->secs, secondary_changed, srv);
    return 0;
}

static void dns_reload(void *p)
{
    struct dns_server *srv = ((struct dns_cfg *)p)->srv;
    if (swap_store(srv, "reload") == 0)
        log_info("event=reloaded zones=%zu host_names=%zu", store_zone_count(srv->store),
                 store_host_names(srv->store));
}

/* Shutdown: TCP clients get the answers to what they sent, then close. */
static void dns_stop(void *p)
{
    struct dns_server *srv = ((struct dns_cfg *)p)->srv;
    if (srv && srv->tcp)
        session_service_stop(srv->tcp);
}

/* The listeners are closed by now (the core closes them before cleanup),
 * and so are the TCP sessions: nothing refers to the instance any more. */
static void dns_cleanup(void *p)
{
    struct dns_cfg *cfg = p;
    struct dns_server *srv = cfg->srv;
    if (!srv)
        return;            /* never started (--version, --help-reactors) */
    session_service_free(srv->tcp);   /* before the forwarder its sessions point into */
    secondaries_free(srv->secs);
    forwarder_close(srv->fwd);
    store_free(srv->store);
    free(srv);
    cfg->srv = NULL;
}

#define D(field) OPT_AT(struct dns_cfg, field)

static const struct gale_opt dns_opts[] = {
    { .name = "port", .short_name = 'p', .type = OPT_INT, .offset = D(port),
      .metavar = "PORT", .help = "the UDP and TCP port to serve", .def = "53", .min = 0,
      .max = 65535 },
    { .name = "interface", .short_name = 'i', .type = OPT_STRING, .offset = D(interface),
      .metavar = "ADDR", .help = "the address to serve on (default: every IPv4 and IPv6 one)",
      .def = "" },
    { .name = "hosts-file", .type = OPT_LIST, .offset = D(hosts_files), .metavar = "FILE",
      .help = "answer A, AAAA and PTR for the names of an /etc/hosts-style file",
      .check_disk = opt_check_file },
    { .name = "bindzone", .type = OPT_LIST, .offset = D(bindzones), .metavar = "FILE",
      .help = "serve a zone from a BIND master file, authoritatively",
      .check_disk = opt_check_file },
    { .name = "pyzone", .type = OPT_LIST, .offset = D(pyzones), .metavar = "FILE",
      .help = "twistd's Python zone files: not supported (use --bindzone)" },
    { .name = "recursive", .short_name = 'r', .type = OPT_FLAG, .offset = D(recursive),
      .help = "forward names outside local data to the servers of --resolv-conf" },
    { .name = "resolv-conf", .type = OPT_FILE, .offset = D(resolv_conf), .metavar = "FILE",
      .help = "upstream servers for -r, in resolv.conf format (implies -r; default: "
              "/etc/resolv.conf)" },
    { .name = "cache", .short_name = 'c', .type = OPT_FLAG, .offset = D(cache),
      .help = "keep forwarded answers for their TTL (negative ones per RFC 2308)" },
    { .name = "cache-size", .type = OPT_INT, .offset = D(cache_size), .metavar = "N",
      .help = "most answers the cache keeps; the least recently used go first",
      .def = "10000", .min = 1, .max = 10000000 },
    { .name = "allow-recursion", .type = OPT_LIST, .offset = D(allow_recursion),
      .metavar = "CIDR", .help = "clients that may use forwarding (default: loopback and "
              "private ranges); others get REFUSED", .check = cidr_check },
    { .name = "secondary", .type = OPT_LIST, .offset = D(secondaries),
      .metavar = "IP/DOMAIN", .help = "serve DOMAIN as a secondary, transferred from the "
              "primary at IP (repeatable)", .check = secondary_check },
    { .name = "allow-transfer", .type = OPT_LIST, .offset = D(allow_transfer),
      .metavar = "CIDR", .help = "clients allowed AXFR over TCP (default: loopback only)",
      .check = cidr_check },
    { .name = "verbose", .short_name = 'v', .type = OPT_COUNT, .offset = D(verbose),
      .help = "log every query: client, name, type, rcode, time taken" },
    { 0 }
};

const struct gale_server gale_server_dns = {
    .name = "dns",
    .summary = "authoritative DNS from zone files and hosts files",
    .description =
        "Answers DNS queries over UDP and TCP from BIND zone files (authoritatively: SOA,\n"
        "NS, CNAME chains, wildcards, NXDOMAIN and no-data with the SOA) and from hosts\n"
        "files (A, AAAA and PTR). Names outside them are REFUSED. SIGHUP reloads every\n"
        "file, keeping the old data if one of them is broken.",
    .opts = dns_opts,
    .cfg_size = sizeof(struct dns_cfg),
    .check = dns_check,
    .start = dns_start,
    .listens = dns_listens,
    .reload = dns_reload,
    .stop = dns_stop,
    .cleanup = dns_cleanup,
};
