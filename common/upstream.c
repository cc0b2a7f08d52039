/*
 * Forwarding raw DNS queries upstream (see resolver.h): one c-ares channel
 * per server from a resolv.conf-style file, so that gale picks the server
 * and can pass over one that keeps failing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ares.h>
#include <event2/event.h>

#include "ares_chan.h"
#include "instance.h"
#include "reactor.h"
#include "resolver.h"


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
    struct gale_instance *owner;   /* the current instance in cb */
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
    chan_rearm(c);
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
    evtimer_add(f->deliver, &chan_zero_tv);
}

static void on_fwd_deliver(evutil_socket_t fd, short what, void *arg)
{
    struct forward_query *f = arg;

    (void)fd; (void)what;
    fwd_unlink(f);
    f->state = Q_DELIVERING;
    instance_push(f->owner);
    f->cb(f->answer, f->len, f->answer != NULL ? NULL : f->error, f->arg);
    instance_pop();
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
    f->owner = instance_current();
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
