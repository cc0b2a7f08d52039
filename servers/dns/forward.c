/*
 * Forwarded queries; see forward.h.  c-ares puts an id of its own on the
 * query, so the answer's id is set back to the client's; an answer too
 * large for the client's UDP size goes back as header and question with
 * TC set, and the client retries over TCP (RFC 1035 4.2.1).
 */
#include "forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "resolver.h"
#include "udp.h"

#define MAX_PENDING 10000

struct pending {
    struct dns_forwarder *f;          /* whose list it is on */
    struct forward_query *fq;
    struct dns_query q;
    struct fwd_reply to;
    struct pending *prev, *next;
};

struct dns_forwarder {
    struct resolver_upstream *upstream;
    struct dns_cache *cache;          /* NULL without -c */
    struct pending *pendings;
    size_t n_pending;
    uint8_t cached[65535];            /* a cached answer on its way out */
};

struct dns_forwarder *forwarder_open(const char *resolv_conf, size_t cache_size, char *err,
                                     size_t errlen)
{
    struct dns_forwarder *f = calloc(1, sizeof *f);
    if (!f || (cache_size && !(f->cache = cache_new(cache_size)))) {
        free(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!(f->upstream = upstream_open(resolv_conf, err, errlen))) {
        cache_free(f->cache);
        free(f);
        return NULL;
    }
    return f;
}

static void unlink_pending(struct pending *p)
{
    struct dns_forwarder *f = p->f;
    if (p->prev)
        p->prev->next = p->next;
    else
        f->pendings = p->next;
    if (p->next)
        p->next->prev = p->prev;
    f->n_pending--;
}

static void deliver(const struct fwd_reply *to, const uint8_t *msg, size_t len)
{
    if (to->udp)
        udp_send(to->udp, msg, len, (const struct sockaddr *)&to->peer, to->peerlen);
    else
        dns_tcp_send(to->tcp, msg, len);
}

/* SERVFAIL, or TC for an answer too large: header and question only. */
static void reply_short(const struct dns_query *q, const struct fwd_reply *to, uint16_t flags,
                        int rcode)
{
    uint8_t buf[DNS_HEADER_LEN + DNS_NAME_MAX + 4];
    struct dns_builder b;
    dns_builder_init(&b, buf, sizeof buf);
    dns_begin_answer(&b, q, flags | DNS_F_RA, rcode);
    size_t n = dns_finish(&b);
    deliver(to, buf, n);
}

/* msg carries the client's id already. */
static void reply_full(const struct dns_query *q, const struct fwd_reply *to,
                       const uint8_t *msg, size_t len)
{
    if (len > to->limit)
        reply_short(q, to, DNS_F_TC, msg[3] & 0xF);
    else
        deliver(to, msg, len);
}

static void on_answer(const unsigned char *answer, size_t len, const char *error, void *arg)
{
    struct pending *p = arg;
    unlink_pending(p);
    if (error || len < DNS_HEADER_LEN) {
        reply_short(&p->q, &p->to, 0, DNS_R_SERVFAIL);
    } else {
        uint8_t *copy = malloc(len);
        if (copy) {
            memcpy(copy, answer, len);
            copy[0] = (uint8_t)(p->q.hdr.id >> 8);
            copy[1] = (uint8_t)p->q.hdr.id;
            if (p->f->cache)
                cache_put(p->f->cache, &p->q, copy, len);
            reply_full(&p->q, &p->to, copy, len);
            free(copy);
        }
    }
    free(p);
}

int forward_start(struct dns_forwarder *f, const uint8_t *msg, size_t len,
                  const struct dns_query *q, const struct fwd_reply *to)
{
    size_t n = f->cache ? cache_get(f->cache, q, f->cached, sizeof f->cached) : 0;
    if (n) {
        reply_full(q, to, f->cached, n);
        return 0;
    }
    if (f->n_pending >= MAX_PENDING)
        return -1;
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->f = f;
    p->q = *q;
    p->to = *to;
    p->fq = forward_send(f->upstream, msg, len, on_answer, p);
    if (!p->fq) {
        free(p);
        return -1;
    }
    p->next = f->pendings;
    if (f->pendings)
        f->pendings->prev = p;
    f->pendings = p;
    f->n_pending++;
    return 0;
}

void forward_drop_tcp(struct dns_forwarder *f, void *tcp)
{
    for (struct pending *p = f->pendings, *next; p; p = next) {
        next = p->next;
        if (p->to.tcp == tcp) {
            forward_cancel(p->fq);
            unlink_pending(p);
            free(p);
        }
    }
}

void forwarder_close(struct dns_forwarder *f)
{
    if (!f)
        return;
    while (f->pendings) {
        struct pending *p = f->pendings;
        forward_cancel(p->fq);
        unlink_pending(p);
        free(p);
    }
    upstream_close(f->upstream);
    cache_free(f->cache);
    free(f);
}
