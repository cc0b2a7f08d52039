/*
 * Asynchronous name resolution on the default c-ares channel (ares_chan.c
 * drives it from the reactor).  Answers are never handed to the caller from
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

#include "ares_chan.h"
#include "instance.h"
#include "log.h"
#include "reactor.h"
#include "resolver.h"

#define RESOLVE_MAX_ADDRS 16

struct resolve_query {
    struct gale_instance *owner;   /* the current instance in cb */
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

static struct {
    struct chan chan;              /* the default channel */
    struct resolve_query *ready;   /* answers not yet delivered */
} R;


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
    q->owner = instance_current();
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
    evtimer_add(q->deliver, &chan_zero_tv);
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
    instance_push(q->owner);
    q->cb(q->n > 0 ? q->addrs : NULL, q->n, q->n > 0 ? NULL : q->error, q->arg);
    instance_pop();
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
    chan_rearm(&R.chan);
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

