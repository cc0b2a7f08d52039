/* The answer cache; see cache.h. */
#include "cache.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TTL 86400            /* nothing is kept longer than a day */
#define MAX_MESSAGE 65535

struct entry {
    uint8_t key[DNS_NAME_MAX + 4];
    size_t key_len;
    uint32_t hash;
    time_t stored, expires;
    uint8_t *msg;
    size_t len;
    struct entry *hnext;             /* hash chain */
    struct entry *prev, *next;       /* recency: head is the newest */
};

struct dns_cache {
    struct entry **table;
    size_t buckets, count, max;
    struct entry *head, *tail;
};

static time_t now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* The key: the lowercased name, then type and class. */
static size_t make_key(const struct dns_query *q, uint8_t *key)
{
    struct dns_name n = q->qname;
    dns_name_lower(&n);
    memcpy(key, n.wire, n.len);
    key[n.len] = (uint8_t)(q->qtype >> 8);
    key[n.len + 1] = (uint8_t)q->qtype;
    key[n.len + 2] = (uint8_t)(q->qclass >> 8);
    key[n.len + 3] = (uint8_t)q->qclass;
    return n.len + 4u;
}

static uint32_t hash_key(const uint8_t *key, size_t len)
{
    uint32_t h = 2166136261u;                      /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

struct dns_cache *cache_new(size_t max_entries)
{
    struct dns_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max = max_entries ? max_entries : 1;
    c->buckets = 1;
    while (c->buckets < c->max)
        c->buckets <<= 1;
    c->table = calloc(c->buckets, sizeof *c->table);
    if (!c->table) {
        free(c);
        return NULL;
    }
    return c;
}

static void lru_unlink(struct dns_cache *c, struct entry *e)
{
    if (e->prev) e->prev->next = e->next; else c->head = e->next;
    if (e->next) e->next->prev = e->prev; else c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(struct dns_cache *c, struct entry *e)
{
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void drop(struct dns_cache *c, struct entry *e)
{
    struct entry **pp = &c->table[e->hash & (c->buckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(c, e);
    free(e->msg);
    free(e);
    c->count--;
}

void cache_free(struct dns_cache *c)
{
    if (!c)
        return;
    while (c->head)
        drop(c, c->head);
    free(c->table);
    free(c);
}

static struct entry *find(struct dns_cache *c, const uint8_t *key, size_t len, uint32_t h)
{
    for (struct entry *e = c->table[h & (c->buckets - 1)]; e; e = e->hnext)
        if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

struct ttl_scan {
    uint32_t min;
    int has_soa;
    uint32_t soa_negative;
};

static int scan_ttl(const struct dns_header *h, enum dns_section sec,
                    const struct dns_rr_view *rr, void *arg)
{
    struct ttl_scan *s = arg;
    (void)h;
    if (rr->type == DNS_T_OPT)
        return 0;
    if (rr->ttl < s->min)
        s->min = rr->ttl;
    if (sec == DNS_S_AUTHORITY && rr->type == DNS_T_SOA && rr->rdlen >= 20) {
        const uint8_t *m = rr->rdata + rr->rdlen - 4;   /* the SOA's minimum */
        uint32_t minimum = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
        s->has_soa = 1;
        s->soa_negative = rr->ttl < minimum ? rr->ttl : minimum;
    }
    return 0;
}

/* How long msg may be kept; 0: not at all. */
static uint32_t cacheable_ttl(const uint8_t *msg, size_t len)
{
    struct dns_header h;
    struct ttl_scan s = { MAX_TTL, 0, 0 };
    if (dns_walk_message(msg, len, &h, scan_ttl, &s) != 0 || (h.flags & DNS_F_TC))
        return 0;
    int rcode = h.flags & 0xF;
    if (rcode == DNS_R_NXDOMAIN || (rcode == DNS_R_NOERROR && h.ancount == 0))
        return s.has_soa ? s.soa_negative : 0;    /* RFC 2308: no SOA, no caching */
    return rcode == DNS_R_NOERROR ? s.min : 0;
}

void cache_put(struct dns_cache *c, const struct dns_query *q, const uint8_t *msg, size_t len)
{
    uint8_t key[DNS_NAME_MAX + 4];
    if (len > MAX_MESSAGE)
        return;
    uint32_t ttl = cacheable_ttl(msg, len);
    if (ttl == 0)
        return;
    size_t klen = make_key(q, key);
    uint32_t h = hash_key(key, klen);
    struct entry *old = find(c, key, klen, h);
    if (old)
        drop(c, old);
    if (c->count >= c->max)
        drop(c, c->tail);
    struct entry *e = calloc(1, sizeof *e);
    if (!e || !(e->msg = malloc(len))) {
        free(e);
        return;
    }
    memcpy(e->key, key, klen);
    e->key_len = klen;
    e->hash = h;
    memcpy(e->msg, msg, len);
    e->len = len;
    e->stored = now();
    e->expires = e->stored + (time_t)ttl;
    e->hnext = c->table[h & (c->buckets - 1)];
    c->table[h & (c->buckets - 1)] = e;
    lru_push(c, e);
    c->count++;
}

/* Lowers every record's TTL in place by age (never below 0). */
static int age_ttl(const struct dns_header *h, enum dns_section sec,
                   const struct dns_rr_view *rr, void *arg)
{
    uint8_t *msg = ((uint8_t **)arg)[0];
    uint32_t age = (uint32_t)(uintptr_t)((uint8_t **)arg)[1];
    (void)h; (void)sec;
    if (rr->type == DNS_T_OPT)
        return 0;
    uint32_t ttl = rr->ttl > age ? rr->ttl - age : 0;
    uint8_t *p = msg + rr->rdata_off - 6;         /* TTL, then RDLENGTH */
    p[0] = (uint8_t)(ttl >> 24);
    p[1] = (uint8_t)(ttl >> 16);
    p[2] = (uint8_t)(ttl >> 8);
    p[3] = (uint8_t)ttl;
    return 0;
}

size_t cache_get(struct dns_cache *c, const struct dns_query *q, uint8_t *out, size_t cap)
{
    uint8_t key[DNS_NAME_MAX + 4];
    size_t klen = make_key(q, key);
    struct entry *e = find(c, key, klen, hash_key(key, klen));
    if (!e)
        return 0;
    time_t t = now();
    if (t >= e->expires) {
        drop(c, e);
        return 0;
    }
    if (e->len > cap)
        return 0;
    lru_unlink(c, e);
    lru_push(c, e);
    memcpy(out, e->msg, e->len);
    out[0] = (uint8_t)(q->hdr.id >> 8);
    out[1] = (uint8_t)q->hdr.id;
    uint8_t *ctx[2] = { out, (uint8_t *)(uintptr_t)(t - e->stored) };
    struct dns_header h;
    dns_walk_message(out, e->len, &h, age_ttl, ctx);
    return e->len;
}
