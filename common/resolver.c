/*
 * Asynchronous name resolution and DNS forwarding: c-ares channels driven by
 * the reactor (the default channel for resolve_host, one more per upstream).
 *
 * c-ares tells us through its socket-state callback which sockets it wants
 * watched; each gets one persistent libevent event.  One reactor timer per
 * channel, re-armed from ares_timeout() after every call into c-ares, drives
 * its retransmissions and timeouts.  Answers are never handed to the caller from
 * inside c-ares: they are stored in the query and delivered by a
 * zero-timeout timer, so a callback may start, cancel or free anything.
 *
 * Address order follows c-ares (RFC 6724 sorting, /etc/hosts first), with
 * the two families interleaved so that a dead family costs one attempt.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>

#include "log.h"
#include "reactor.h"
#include "resolver.h"

#define RESOLVE_MAX_ADDRS 16

enum query_state {
    Q_ARES,        /* c-ares holds it; on_ares_done frees or readies it */
    Q_READY,       /* answer stored, deliver timer pending, on the ready list */
    Q_DELIVERING,  /* the user callback is running; freed when it returns */
};

struct resolve_query {
    enum query_state state;
    int cancelled;                 /* Q_ARES only: drop the answer */
    int port;
    resolve_cb cb;
    void *arg;
    struct event *deliver;         /* zero-timeout timer that runs cb */
    struct resolve_query *prev, *next;
    size_t n;
    struct resolved_addr addrs[RESOLVE_MAX_ADDRS];
    char error[320];
    char host[];
};

/* One watched c-ares socket. */
struct sock_watch {
    ares_socket_t fd;
    struct event *ev;
    struct sock_watch *next;
};

/* One c-ares channel on the reactor. */
struct chan {
    ares_channel channel;
    struct event *timer;           /* ares_timeout() deadline */
    struct sock_watch *watches;
};

static struct {
    struct chan chan;              /* the default channel */
    struct resolve_query *ready;   /* answers not yet delivered */
    int library_ready;
} R;

static const struct timeval zero_tv = { 0, 0 };

/* ---- c-ares <-> libevent plumbing ---- */

static void timer_rearm(struct chan *c)
{
    struct timeval tv;

    if (c->channel == NULL || c->timer == NULL)
        return;
    if (ares_timeout(c->channel, NULL, &tv) != NULL)
        evtimer_add(c->timer, &tv);
    else
        evtimer_del(c->timer);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct chan *c = arg;

    (void)fd; (void)what;
    ares_process_fd(c->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    timer_rearm(c);
}

/* arg is the channel, not the watch: the watch may be freed by
 * ares_process_fd (c-ares closing the socket).  No c-ares callback here
 * runs user code, so the channel itself outlives the call. */
static void on_sock(evutil_socket_t fd, short what, void *arg)
{
    struct chan *c = arg;
    ares_socket_t r = (what & EV_READ) ? fd : ARES_SOCKET_BAD;
    ares_socket_t w = (what & EV_WRITE) ? fd : ARES_SOCKET_BAD;

    ares_process_fd(c->channel, r, w);
    timer_rearm(c);
}

static struct sock_watch **watch_find(struct chan *c, ares_socket_t fd)
{
    struct sock_watch **pp = &c->watches;

    while (*pp != NULL && (*pp)->fd != fd)
        pp = &(*pp)->next;
    return pp;
}

static void watch_drop(struct sock_watch **pp)
{
    struct sock_watch *w = *pp;

    *pp = w->next;
    event_free(w->ev);
    free(w);
}

/* c-ares calls this whenever the interest in a socket changes; a new event
 * replaces the old one because libevent cannot change the flags of a
 * pending event in place. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct chan *c = data;
    struct sock_watch **pp = watch_find(c, fd);
    struct sock_watch *w;
    short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

    if (*pp != NULL)
        watch_drop(pp);
    if (what == 0)
        return;
    w = calloc(1, sizeof *w);
    if (w != NULL)
        w->ev = event_new(reactor_base(), fd, what | EV_PERSIST, on_sock, c);
    if (w == NULL || w->ev == NULL || event_add(w->ev, NULL) == -1) {
        /* The query still ends: the timer makes c-ares time it out. */
        log_debug("resolver: cannot watch socket %d", (int)fd);
        if (w != NULL && w->ev != NULL)
            event_free(w->ev);
        free(w);
        return;
    }
    w->fd = fd;
    w->next = c->watches;
    c->watches = w;
}

static int library_init(char *err, size_t errlen)
{
    int status;

    if (R.library_ready)
        return 0;
    status = ares_library_init(ARES_LIB_INIT_ALL);
    if (status != ARES_SUCCESS) {
        snprintf(err, errlen, "resolver: %s", ares_strerror(status));
        return -1;
    }
    R.library_ready = 1;
    return 0;
}

/* opts/optmask: everything but the socket-state callback, which is ours. */
static int chan_open(struct chan *c, struct ares_options *opts, int optmask,
                     char *err, size_t errlen)
{
    int status;

    if (reactor_base() == NULL) {
        snprintf(err, errlen, "resolver: the reactor is not started");
        return -1;
    }
    if (library_init(err, errlen) == -1)
        return -1;
    c->timer = evtimer_new(reactor_base(), on_timer, c);
    if (c->timer == NULL) {
        snprintf(err, errlen, "resolver: cannot create timer");
        return -1;
    }
    opts->sock_state_cb = on_sock_state;
    opts->sock_state_cb_data = c;
    status = ares_init_options(&c->channel, opts, optmask | ARES_OPT_SOCK_STATE_CB);
    if (status != ARES_SUCCESS) {
        snprintf(err, errlen, "resolver: %s", ares_strerror(status));
        c->channel = NULL;
        event_free(c->timer);
        c->timer = NULL;
        return -1;
    }
    return 0;
}

/* c-ares ends every query it holds with ARES_EDESTRUCTION first. */
static void chan_close(struct chan *c)
{
    if (c->channel != NULL) {
        ares_destroy(c->channel);
        c->channel = NULL;
    }
    while (c->watches != NULL)
        watch_drop(&c->watches);
    if (c->timer != NULL) {
        event_free(c->timer);
        c->timer = NULL;
    }
}

/* ---- queries ---- */

static void on_deliver(evutil_socket_t fd, short what, void *arg);

static struct resolve_query *query_new(const char *host, int port,
                                       resolve_cb cb, void *arg)
{
    size_t len = strlen(host);
    struct resolve_query *q = calloc(1, sizeof *q + len + 1);

    if (q == NULL)
        return NULL;
    q->deliver = evtimer_new(reactor_base(), on_deliver, q);
    if (q->deliver == NULL) {
        free(q);
        return NULL;
    }
    memcpy(q->host, host, len + 1);
    q->port = port;
    q->cb = cb;
    q->arg = arg;
    return q;
}

static void query_free(struct resolve_query *q)
{
    event_free(q->deliver);
    free(q);
}

static void ready_unlink(struct resolve_query *q)
{
    if (q->prev != NULL)
        q->prev->next = q->next;
    else
        R.ready = q->next;
    if (q->next != NULL)
        q->next->prev = q->prev;
    q->prev = q->next = NULL;
}

/* From here on the query belongs to the ready list until delivered. */
static void query_ready(struct resolve_query *q)
{
    q->state = Q_READY;
    q->prev = NULL;
    q->next = R.ready;
    if (R.ready != NULL)
        R.ready->prev = q;
    R.ready = q;
    evtimer_add(q->deliver, &zero_tv);
}

__attribute__((format(printf, 2, 3)))
static void query_fail(struct resolve_query *q, const char *fmt, ...)
{
    va_list ap;
    int len = snprintf(q->error, sizeof q->error, "cannot resolve %s: ", q->host);

    if (len < 0 || (size_t)len >= sizeof q->error)
        len = 0;
    va_start(ap, fmt);
    vsnprintf(q->error + len, sizeof q->error - (size_t)len, fmt, ap);
    va_end(ap);
    q->n = 0;
}

static void on_deliver(evutil_socket_t fd, short what, void *arg)
{
    struct resolve_query *q = arg;

    (void)fd; (void)what;
    ready_unlink(q);
    q->state = Q_DELIVERING;
    q->cb(q->n > 0 ? q->addrs : NULL, q->n, q->n > 0 ? NULL : q->error, q->arg);
    query_free(q);
}

/* ---- answers ---- */

static void add_addr(struct resolve_query *q, const struct sockaddr *sa, socklen_t len)
{
    struct resolved_addr *a = &q->addrs[q->n++];

    if (len > (socklen_t)sizeof a->sa)
        len = (socklen_t)sizeof a->sa;
    memset(a, 0, sizeof *a);
    memcpy(&a->sa, sa, len);
    a->len = len;
    if (a->sa.ss_family == AF_INET)
        ((struct sockaddr_in *)&a->sa)->sin_port = htons((unsigned short)q->port);
    else
        ((struct sockaddr_in6 *)&a->sa)->sin6_port = htons((unsigned short)q->port);
}

static int node_seen(struct ares_addrinfo_node **list, size_t n,
                     const struct ares_addrinfo_node *node)
{
    for (size_t i = 0; i < n; i++)
        if (list[i]->ai_addrlen == node->ai_addrlen &&
            memcmp(list[i]->ai_addr, node->ai_addr, node->ai_addrlen) == 0)
            return 1;
    return 0;
}

/* Split by family (keeping c-ares order within each), drop duplicates,
 * then alternate, starting with the family c-ares put first. */
static void take_answer(struct resolve_query *q, const struct ares_addrinfo *res)
{
    struct ares_addrinfo_node *fam[2][RESOLVE_MAX_ADDRS];
    size_t count[2] = { 0, 0 }, used[2] = { 0, 0 };
    int first = -1;

    for (struct ares_addrinfo_node *node = res->nodes; node; node = node->ai_next) {
        int f = node->ai_family == AF_INET6;
        if ((node->ai_family != AF_INET && node->ai_family != AF_INET6) ||
            count[f] == RESOLVE_MAX_ADDRS || node_seen(fam[f], count[f], node))
            continue;
        if (first < 0)
            first = f;
        fam[f][count[f]++] = node;
    }
    for (int f = first; first >= 0 && q->n < RESOLVE_MAX_ADDRS; f = !f) {
        if (used[f] < count[f]) {
            struct ares_addrinfo_node *node = fam[f][used[f]++];
            add_addr(q, node->ai_addr, node->ai_addrlen);
        } else if (used[!f] == count[!f]) {
            break;
        }
    }
}

static void on_ares_done(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    struct resolve_query *q = arg;

    (void)timeouts;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || q->cancelled) {
        if (res != NULL)
            ares_freeaddrinfo(res);
        query_free(q);
        return;
    }
    if (status == ARES_SUCCESS && res != NULL)
        take_answer(q, res);
    if (res != NULL)
        ares_freeaddrinfo(res);
    if (q->n == 0)
        query_fail(q, "%s", status == ARES_SUCCESS ? "no address" : ares_strerror(status));
    log_debug("resolver: %s: %zu addresses, status %d", q->host, q->n, status);
    query_ready(q);
}

/* 1: numeric, answer stored; 0: a name for c-ares; -1: bad, error stored. */
static int parse_numeric(struct resolve_query *q)
{
    char buf[INET6_ADDRSTRLEN + 1];
    size_t len = strlen(q->host);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

    if (q->host[0] == '[') {
        /* URL style: only an IPv6 literal may sit in brackets. */
        if (len < 3 || len - 2 >= sizeof buf || q->host[len - 1] != ']') {
            query_fail(q, "bad address");
            return -1;
        }
        memcpy(buf, q->host + 1, len - 2);
        buf[len - 2] = '\0';
        if (inet_pton(AF_INET6, buf, &sin6.sin6_addr) != 1) {
            query_fail(q, "not an IPv6 address");
            return -1;
        }
        add_addr(q, (struct sockaddr *)&sin6, sizeof sin6);
        return 1;
    }
    if (inet_pton(AF_INET, q->host, &sin.sin_addr) == 1) {
        add_addr(q, (struct sockaddr *)&sin, sizeof sin);
        return 1;
    }
    if (inet_pton(AF_INET6, q->host, &sin6.sin6_addr) == 1) {
        add_addr(q, (struct sockaddr *)&sin6, sizeof sin6);
        return 1;
    }
    return 0;
}

/* ---- API ---- */

static void start_ares(struct resolve_query *q)
{
    struct ares_addrinfo_hints hints = {
        .ai_family = AF_UNSPEC,       /* both A and AAAA */
        .ai_socktype = SOCK_STREAM,   /* one node per address */
    };

    /* c-ares may answer (from /etc/hosts) before returning: on_ares_done
     * then only readies the query, so cb still runs later. */
    q->state = Q_ARES;
    ares_getaddrinfo(R.chan.channel, q->host, NULL, &hints, on_ares_done, q);
    timer_rearm(&R.chan);
}

struct resolve_query *resolve_host(const char *host, int port, resolve_cb cb, void *arg)
{
    struct resolve_query *q;

    if (reactor_base() == NULL || cb == NULL)
        return NULL;
    q = query_new(host != NULL ? host : "", port, cb, arg);
    if (q == NULL)
        return NULL;
    if (port < 0 || port > 65535) {
        query_fail(q, "bad port %d", port);
    } else if (q->host[0] == '\0') {
        query_fail(q, "empty host name");
    } else if (parse_numeric(q) == 0) {
        if (R.chan.channel == NULL) {
            query_fail(q, "resolver not started");
        } else {
            start_ares(q);
            return q;
        }
    }
    query_ready(q);   /* errors and numeric answers: still asynchronous */
    return q;
}

void resolve_cancel(struct resolve_query *q)
{
    if (q == NULL)
        return;
    switch (q->state) {
    case Q_ARES:
        q->cancelled = 1;   /* c-ares still holds it; on_ares_done frees it */
        break;
    case Q_READY:
        ready_unlink(q);
        query_free(q);
        break;
    case Q_DELIVERING:
        break;              /* freed when the callback returns */
    }
}

int resolver_init(char *err, size_t errlen)
{
    struct ares_options opts = { 0 };

    if (R.chan.channel != NULL)
        return 0;
    return chan_open(&R.chan, &opts, 0, err, errlen);
}

/* Every outstanding query is dropped without its callback; call it before
 * the reactor is freed. */
void resolver_free(void)
{
    chan_close(&R.chan);
    while (R.ready != NULL) {
        struct resolve_query *q = R.ready;
        ready_unlink(q);
        query_free(q);
    }
}

/* ---- forwarding raw queries upstream ---- */

#define UPSTREAM_MAX 16
#define BACKOFF_MAX 60             /* seconds a failing server is passed over, at most */

/* One channel per server, so that gale, not c-ares, picks the server:
 * a server that keeps failing is passed over for a while (doubling up to
 * BACKOFF_MAX) and tried last. */
struct upstream_server {
    struct chan chan;
    unsigned fails;
    time_t until;                  /* passed over before this time */
};

struct resolver_upstream {
    struct upstream_server server[UPSTREAM_MAX];
    int n;
    struct forward_query *ready;   /* answers not yet delivered */
};

struct forward_query {
    enum query_state state;
    int cancelled;                 /* Q_ARES only: drop the answer */
    struct resolver_upstream *u;
    forward_cb cb;
    void *arg;
    struct event *deliver;         /* zero-timeout timer that runs cb */
    struct forward_query *prev, *next;
    unsigned char *answer;
    size_t len;
    char error[128];
    unsigned char *query;          /* kept to send to the next server */
    size_t query_len;
    int server;                    /* the server asked now */
    unsigned tried;                /* bit per server already asked */
};

static void fwd_free(struct forward_query *f)
{
    event_free(f->deliver);
    free(f->answer);
    free(f->query);
    free(f);
}

static time_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* The next server to ask: the first one not asked yet that is not backed
 * off, else the untried one whose back-off ends first; -1 when all were
 * asked. */
static int pick_server(const struct resolver_upstream *u, unsigned tried)
{
    time_t now = mono_now();
    int best = -1;
    for (int i = 0; i < u->n; i++) {
        if (tried & (1u << i))
            continue;
        if (u->server[i].until <= now)
            return i;
        if (best == -1 || u->server[i].until < u->server[best].until)
            best = i;
    }
    return best;
}

static void server_failed(struct upstream_server *sv)
{
    unsigned shift = sv->fails < 6 ? sv->fails : 6;
    time_t wait = (time_t)1 << shift;
    sv->fails++;
    sv->until = mono_now() + (wait < BACKOFF_MAX ? wait : BACKOFF_MAX);
}

static void on_fwd_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

static void fwd_ask(struct forward_query *f, int server)
{
    struct chan *c = &f->u->server[server].chan;
    f->server = server;
    f->tried |= 1u << server;
    /* c-ares copies the query, gives it an id of its own and rejects a
     * length outside [12, 65535] through the callback. */
    ares_send(c->channel, f->query, f->query_len > 65535 ? 65536 : (int)f->query_len,
              on_fwd_done, f);
    timer_rearm(c);
}

static void fwd_unlink(struct forward_query *f)
{
    if (f->prev != NULL)
        f->prev->next = f->next;
    else
        f->u->ready = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
}

static void fwd_ready(struct forward_query *f)
{
    f->state = Q_READY;
    f->prev = NULL;
    f->next = f->u->ready;
    if (f->u->ready != NULL)
        f->u->ready->prev = f;
    f->u->ready = f;
    evtimer_add(f->deliver, &zero_tv);
}

static void on_fwd_deliver(evutil_socket_t fd, short what, void *arg)
{
    struct forward_query *f = arg;

    (void)fd; (void)what;
    fwd_unlink(f);
    f->state = Q_DELIVERING;
    f->cb(f->answer, f->len, f->answer != NULL ? NULL : f->error, f->arg);
    fwd_free(f);
}

/* May run inside ares_send (an immediate failure): only readies f. */
static void on_fwd_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct forward_query *f = arg;

    (void)timeouts;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || f->cancelled) {
        fwd_free(f);
        return;
    }
    struct upstream_server *sv = &f->u->server[f->server];
    if (status != ARES_SUCCESS && status != ARES_EBADQUERY) {
        server_failed(sv);
        int next = pick_server(f->u, f->tried);
        if (next >= 0) {
            fwd_ask(f, next);     /* every upstream is asked before giving up */
            return;
        }
    } else if (status == ARES_SUCCESS) {
        sv->fails = 0;
        sv->until = 0;
    }
    if (status == ARES_SUCCESS && abuf != NULL && alen > 0) {
        f->answer = malloc((size_t)alen);
        if (f->answer != NULL) {
            memcpy(f->answer, abuf, (size_t)alen);
            f->len = (size_t)alen;
        }
    }
    if (f->answer == NULL)
        snprintf(f->error, sizeof f->error, "upstream: %s",
                 status == ARES_SUCCESS ? "out of memory" : ares_strerror(status));
    fwd_ready(f);
}

struct forward_query *forward_send(struct resolver_upstream *u, const unsigned char *q,
                                   size_t len, forward_cb cb, void *arg)
{
    struct forward_query *f;

    if (u == NULL || q == NULL || cb == NULL)
        return NULL;
    f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->deliver = evtimer_new(reactor_base(), on_fwd_deliver, f);
    if (f->deliver == NULL) {
        free(f);
        return NULL;
    }
    f->query = malloc(len ? len : 1);
    if (f->query == NULL) {
        event_free(f->deliver);
        free(f);
        return NULL;
    }
    memcpy(f->query, q, len);
    f->query_len = len;
    f->u = u;
    f->cb = cb;
    f->arg = arg;
    f->state = Q_ARES;
    fwd_ask(f, pick_server(u, 0));
    return f;
}

void forward_cancel(struct forward_query *f)
{
    if (f == NULL)
        return;
    switch (f->state) {
    case Q_ARES:
        f->cancelled = 1;   /* c-ares still holds it; on_fwd_done frees it */
        break;
    case Q_READY:
        fwd_unlink(f);
        fwd_free(f);
        break;
    case Q_DELIVERING:
        break;              /* freed when the callback returns */
    }
}

/* One "nameserver X" value: ADDR, or as an extension ADDR:PORT / [V6]:PORT.
 * 0 and *node filled, or -1. */
static int parse_server(char *s, struct ares_addr_port_node *node)
{
    char *addr = s, *port = NULL, *end;
    long p = 0;

    if (s[0] == '[') {
        addr = s + 1;
        end = strchr(addr, ']');
        if (end == NULL || (end[1] != '\0' && end[1] != ':'))
            return -1;
        if (end[1] == ':')
            port = end + 2;
        *end = '\0';
    } else if (strchr(s, ':') == strrchr(s, ':') && strchr(s, ':') != NULL) {
        port = strchr(s, ':');   /* exactly one colon: IPv4 with a port */
        *port++ = '\0';
    }
    if (port != NULL) {
        p = strtol(port, &end, 10);
        if (port[0] < '0' || port[0] > '9' || *end != '\0' || p < 1 || p > 65535)
            return -1;
    }
    memset(node, 0, sizeof *node);
    if (inet_pton(AF_INET, addr, &node->addr.addr4) == 1)
        node->family = AF_INET;
    else if (inet_pton(AF_INET6, addr, &node->addr.addr6) == 1)
        node->family = AF_INET6;
    else
        return -1;
    node->udp_port = node->tcp_port = (int)p;   /* 0: the default, 53 */
    return 0;
}

/* The nameservers of a resolv.conf file, in order; their count, or -1. */
static int read_servers(const char *path, struct ares_addr_port_node *nodes,
                        char *err, size_t errlen)
{
    char line[512];
    int n = 0, lineno = 0;
    FILE *fp = fopen(path, "r");

    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        char *save, *key = strtok_r(line, " \t\r\n", &save);
        char *val = key != NULL ? strtok_r(NULL, " \t\r\n", &save) : NULL;

        lineno++;
        if (key == NULL || strcmp(key, "nameserver") != 0 || val == NULL)
            continue;     /* other keywords, comments and blank lines */
        if (n == UPSTREAM_MAX)
            break;
        if (parse_server(val, &nodes[n]) == -1) {
            snprintf(err, errlen, "%s line %d: bad nameserver address", path, lineno);
            fclose(fp);
            return -1;
        }
        if (n > 0)
            nodes[n - 1].next = &nodes[n];
        n++;
    }
    fclose(fp);
    if (n == 0)
        snprintf(err, errlen, "%s: no nameserver", path);
    return n;
}

struct resolver_upstream *upstream_open(const char *resolv_conf, char *err, size_t errlen)
{
    struct ares_addr_port_node nodes[UPSTREAM_MAX];
    struct resolver_upstream *u;
    /* No ARES_FLAG_EDNS: with it, c-ares 1.18 strips the last 11 bytes
     * (its own OPT record) from the query when an upstream answers
     * FORMERR, which would mangle or over-run a client's query.  Answers
     * over 512 bytes are fetched again over TCP instead. */
    struct ares_options opts = {
        .flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES,
        .timeout = 2000,
        .tries = 2,
    };
    int n = read_servers(resolv_conf, nodes, err, errlen);

    if (n <= 0)
        return NULL;
    u = calloc(1, sizeof *u);
    if (u == NULL) {
        snprintf(err, errlen, "upstream: out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        struct ares_addr_port_node one = nodes[i];
        one.next = NULL;
        if (chan_open(&u->server[i].chan, &opts, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
                      ARES_OPT_TRIES | ARES_OPT_NOROTATE, err, errlen) == -1) {
            upstream_close(u);
            return NULL;
        }
        u->n = i + 1;
        int status = ares_set_servers_ports(u->server[i].chan.channel, &one);
        if (status != ARES_SUCCESS) {
            snprintf(err, errlen, "%s: %s", resolv_conf, ares_strerror(status));
            upstream_close(u);
            return NULL;
        }
    }
    return u;
}

/* Every outstanding query is dropped without its callback. */
void upstream_close(struct resolver_upstream *u)
{
    if (u == NULL)
        return;
    for (int i = 0; i < u->n; i++)
        chan_close(&u->server[i].chan);
    while (u->ready != NULL) {
        struct forward_query *f = u->ready;
        fwd_unlink(f);
        fwd_free(f);
    }
    free(u);
}
