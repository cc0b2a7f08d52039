/*
 * The item store; see store.h.
 *
 * The hash table grows by doubling, moved a few buckets per operation
 * (as Redis does) so that no single request pays for rehashing a million
 * items.  Chains are keyed by SipHash with a random key, since keys come
 * from the network.  Memory is accounted per item as the allocator hands
 * it out (header, key and value rounded up to 16 bytes, plus the
 * allocator's own word) and the bucket arrays are counted too, so
 * --max-memory bounds what the process really holds.
 */
#include "store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "siphash.h"
#include "stats.h"

#define TABLE_MIN 1024
#define REHASH_STEP 16            /* buckets moved per operation */
#define MALLOC_OVERHEAD 8
#define MAX_RELATIVE_EXPTIME (60 * 60 * 24 * 30)   /* memcached's 30 days */

struct table {
    struct item **b;
    size_t size;                  /* a power of two, or 0 */
};

struct store {
    struct table t[2];            /* t[1] is the new table while rehashing */
    size_t rehash_pos;            /* t[0]'s buckets below this have moved */
    struct item *mru, *lru;       /* the LRU list's two ends */
    size_t count;
    uint64_t item_mem, max_mem, max_item;
    uint64_t next_cas;
    uint64_t evictions, reclaimed, total_items;
    size_t reap_pos;
    int found_expired;            /* the last lookup met its key expired */
    struct siphash_key key;
    struct pyc_stats *stats;      /* the owner's: get_expired */
    store_clock_fn clock;
};

static double wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void store_set_clock(struct store *st, store_clock_fn clock) { st->clock = clock; }
double store_time(const struct store *st) { return st->clock(); }

static uint32_t now_seconds(const struct store *st) { return (uint32_t)st->clock(); }

/* --- sizes and memory ------------------------------------------------ */

static uint64_t item_footprint(size_t nkey, size_t nval)
{
    uint64_t n = sizeof(struct item) + nkey + nval + MALLOC_OVERHEAD;
    return (n + 15) & ~(uint64_t)15;
}

static uint64_t table_mem(const struct store *st)
{
    return (st->t[0].size + st->t[1].size) * sizeof(struct item *);
}

uint64_t store_bytes(const struct store *st) { return st->item_mem + table_mem(st); }
uint64_t store_max_item_size(const struct store *st) { return st->max_item; }
uint64_t store_max_memory(const struct store *st) { return st->max_mem; }
size_t store_count(const struct store *st) { return st->count; }
uint64_t store_evictions(const struct store *st) { return st->evictions; }
uint64_t store_reclaimed(const struct store *st) { return st->reclaimed; }
uint64_t store_total_items(const struct store *st) { return st->total_items; }

/* --- expiry ---------------------------------------------------------- */

static uint32_t clamp_time(double t)
{
    if (t >= (double)UINT32_MAX)
        return UINT32_MAX;
    return t < 1 ? 1 : (uint32_t)t;
}

uint32_t store_exptime(const struct store *st, int64_t exptime)
{
    if (exptime == 0)
        return 0;
    if (exptime < 0)
        return 1;                                 /* long past: expired */
    if (exptime <= MAX_RELATIVE_EXPTIME)
        return clamp_time(ceil(st->clock() + (double)exptime));
    return exptime > UINT32_MAX ? UINT32_MAX : (uint32_t)exptime;
}

uint32_t store_ttl(const struct store *st, double seconds)
{
    if (!(seconds > 0))
        return 1;
    return clamp_time(ceil(st->clock() + seconds));
}

static int expired(const struct item *it, uint32_t now)
{
    return it->exptime != 0 && it->exptime <= now;
}

/* --- the LRU list ---------------------------------------------------- */

static void lru_unlink(struct store *st, struct item *it)
{
    if (it->lru_prev)
        it->lru_prev->lru_next = it->lru_next;
    else
        st->mru = it->lru_next;
    if (it->lru_next)
        it->lru_next->lru_prev = it->lru_prev;
    else
        st->lru = it->lru_prev;
    it->lru_prev = it->lru_next = NULL;
}

static void lru_push(struct store *st, struct item *it)
{
    it->lru_prev = NULL;
    it->lru_next = st->mru;
    if (st->mru)
        st->mru->lru_prev = it;
    st->mru = it;
    if (!st->lru)
        st->lru = it;
}

static void lru_bump(struct store *st, struct item *it)
{
    if (st->mru != it) {
        lru_unlink(st, it);
        lru_push(st, it);
    }
}

/* --- the hash table -------------------------------------------------- */

static int rehashing(const struct store *st) { return st->t[1].size != 0; }

static struct item **bucket_of(struct table *t, uint32_t hash)
{
    return &t->b[hash & (t->size - 1)];
}

/* Moves up to n buckets of the old table into the new one. */
static void rehash_step(struct store *st, size_t n)
{
    while (n-- > 0 && rehashing(st)) {
        struct item *it = st->t[0].b[st->rehash_pos];
        while (it) {
            struct item *next = it->hnext;
            struct item **b = bucket_of(&st->t[1], it->hash);
            it->hnext = *b;
            *b = it;
            it = next;
        }
        if (++st->rehash_pos == st->t[0].size) {
            free(st->t[0].b);
            st->t[0] = st->t[1];
            st->t[1] = (struct table){ NULL, 0 };
            st->rehash_pos = 0;
        }
    }
}

/* Starts doubling the table when it is fuller than one item a bucket,
 * unless the new array would not fit in the memory bound. */
static void maybe_grow(struct store *st)
{
    if (rehashing(st) || st->count < st->t[0].size)
        return;
    size_t size = st->t[0].size * 2;
    if ((size + st->t[0].size) * sizeof(struct item *) > st->max_mem / 4)
        return;
    struct item **b = calloc(size, sizeof *b);
    if (!b)
        return;
    st->t[1] = (struct table){ b, size };
    st->rehash_pos = 0;
}

/* Where the chain holding hash starts: the old table's bucket if it has
 * not moved yet, else the new table's. */
static struct item **chain_of(struct store *st, uint32_t hash)
{
    if (rehashing(st) && (hash & (st->t[0].size - 1)) < st->rehash_pos)
        return bucket_of(&st->t[1], hash);
    return bucket_of(&st->t[0], hash);
}

static uint32_t hash_key(const struct store *st, const char *key, size_t nkey)
{
    return (uint32_t)siphash13(&st->key, key, nkey);
}

/* The link pointing at the item with this key, or NULL. */
static struct item **find_link(struct store *st, const char *key, size_t nkey,
                               uint32_t hash)
{
    for (struct item **p = chain_of(st, hash); *p; p = &(*p)->hnext) {
        struct item *it = *p;
        if (it->hash == hash && it->nkey == nkey && memcmp(it->data, key, nkey) == 0)
            return p;
    }
    return NULL;
}

static void item_unlink(struct store *st, struct item **link)
{
    struct item *it = *link;
    *link = it->hnext;
    lru_unlink(st, it);
    st->count--;
    st->item_mem -= item_footprint(it->nkey, it->nval);
    free(it);
}

static void item_link(struct store *st, struct item *it)
{
    rehash_step(st, REHASH_STEP);
    maybe_grow(st);
    struct item **b = chain_of(st, it->hash);
    it->hnext = *b;
    *b = it;
    lru_push(st, it);
    st->count++;
    st->total_items++;
    st->item_mem += item_footprint(it->nkey, it->nval);
}

/* Looks a key up, reclaiming it on the way if it has expired. */
static struct item **lookup(struct store *st, const char *key, size_t nkey)
{
    rehash_step(st, REHASH_STEP);
    st->found_expired = 0;
    uint32_t hash = hash_key(st, key, nkey);
    struct item **link = find_link(st, key, nkey, hash);
    if (link && expired(*link, now_seconds(st))) {
        item_unlink(st, link);
        st->reclaimed++;
        st->found_expired = 1;
        return NULL;
    }
    return link;
}

/* Evicts from the cold end until need more bytes fit; -1 when they
 * cannot, even with the store empty. */
static int make_room(struct store *st, uint64_t need)
{
    uint32_t now = now_seconds(st);
    while (store_bytes(st) + need > st->max_mem && st->lru) {
        struct item *victim = st->lru;
        struct item **link = find_link(st, item_key(victim), victim->nkey, victim->hash);
        if (!link)
            return -1;                  /* cannot happen: every listed item is linked */
        if (expired(victim, now))
            st->reclaimed++;
        else
            st->evictions++;
        item_unlink(st, link);
    }
    return store_bytes(st) + need > st->max_mem ? -1 : 0;
}

/* --- life cycle ------------------------------------------------------ */

struct store *store_create(uint64_t max_memory, uint64_t max_item_size, struct pyc_stats *stats)
{
    struct store *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->max_mem = max_memory;
    st->max_item = max_item_size;
    st->next_cas = 1;
    st->stats = stats;
    st->clock = wall_clock;
    siphash_random_key(&st->key);
    st->t[0].b = calloc(TABLE_MIN, sizeof *st->t[0].b);
    if (!st->t[0].b) {
        free(st);
        return NULL;
    }
    st->t[0].size = TABLE_MIN;
    return st;
}

void store_clear(struct store *st)
{
    while (st->lru) {
        struct item *it = st->lru;
        struct item **link = find_link(st, item_key(it), it->nkey, it->hash);
        if (!link)
            break;
        item_unlink(st, link);
    }
}

void store_destroy(struct store *st)
{
    if (!st)
        return;
    store_clear(st);
    free(st->t[0].b);
    free(st->t[1].b);
    free(st);
}

/* --- reading --------------------------------------------------------- */

struct item *store_peek(struct store *st, const char *key, size_t nkey)
{
    struct item **link = lookup(st, key, nkey);
    return link ? *link : NULL;
}

struct item *store_get(struct store *st, const char *key, size_t nkey)
{
    struct item *it = store_peek(st, key, nkey);
    if (st->found_expired)
        st->stats->get_expired++;
    if (it) {
        if (it->reads < UINT32_MAX)
            it->reads++;
        lru_bump(st, it);
    }
    return it;
}

void store_foreach(const struct store *st, store_visit_fn fn, void *arg)
{
    uint32_t now = now_seconds(st);
    for (struct item *it = st->lru; it; it = it->lru_prev)
        if (!expired(it, now) && fn(it, arg))
            return;
}

/* --- writing --------------------------------------------------------- */

static struct item *item_new(struct store *st, const struct store_value *v, size_t nval)
{
    struct item *it = malloc(sizeof *it + v->nkey + nval);
    if (!it)
        return NULL;
    memset(it, 0, sizeof *it);
    it->hash = hash_key(st, v->key, v->nkey);
    it->nkey = (uint8_t)v->nkey;
    it->nval = (uint32_t)nval;
    it->flags = v->flags;
    it->exptime = v->exptime;
    it->kind = (uint8_t)v->kind;
    it->time_set = now_seconds(st);
    it->cas = st->next_cas++;
    memcpy(it->data, v->key, v->nkey);
    return it;
}

/* Puts a made item in place of old (may be NULL), making room first-> */
static enum store_result install(struct store *st, struct item *it, struct item *old,
                                 uint64_t *cas_out)
{
    if (item_footprint(it->nkey, it->nval) + table_mem(st) > st->max_mem) {
        free(it);               /* would not fit even alone: keep the old value */
        return STORE_NO_MEMORY;
    }
    if (old) {
        struct item **link = find_link(st, item_key(old), old->nkey, old->hash);
        if (link)
            item_unlink(st, link);
    }
    if (make_room(st, item_footprint(it->nkey, it->nval)) == -1) {
        free(it);
        return STORE_NO_MEMORY;
    }
    if (cas_out)
        *cas_out = it->cas;
    item_link(st, it);
    return STORE_STORED;
}

/* APPEND and PREPEND: the old value with the new bytes on one side. */
static enum store_result concat(struct store *st, enum store_mode mode,
                                const struct store_value *v, struct item *old,
                                uint64_t *cas_out)
{
    uint64_t nval = (uint64_t)old->nval + v->nval;
    if (nval > st->max_item)
        return STORE_TOO_LARGE;
    struct store_value keep = *v;
    keep.flags = old->flags;
    keep.exptime = old->exptime;
    keep.kind = ITEM_RAW;
    struct item *it = item_new(st, &keep, (size_t)nval);
    if (!it)
        return STORE_NO_MEMORY;
    char *dst = it->data + it->nkey;
    if (mode == STORE_APPEND) {
        memcpy(dst, item_value(old), old->nval);
        memcpy(dst + old->nval, v->val, v->nval);
    } else {
        memcpy(dst, v->val, v->nval);
        memcpy(dst + v->nval, item_value(old), old->nval);
    }
    return install(st, it, old, cas_out);
}

/* Whether the mode lets the command go ahead given what is stored. */
static enum store_result precondition(struct store *st, enum store_mode mode,
                                      const struct store_value *v, struct item *old)
{
    switch (mode) {
    case STORE_ADD:
        if (old) {
            lru_bump(st, old);  /* memcached counts a failed add as a use */
            return STORE_NOT_STORED;
        }
        return STORE_STORED;
    case STORE_REPLACE:
    case STORE_APPEND:
    case STORE_PREPEND:
        return old ? STORE_STORED : STORE_NOT_STORED;
    case STORE_CAS:
        if (!old)
            return STORE_NOT_FOUND;
        return old->cas == v->cas ? STORE_STORED : STORE_EXISTS;
    case STORE_SET:
        break;
    }
    return STORE_STORED;
}

enum store_result store_put(struct store *st, enum store_mode mode,
                            const struct store_value *v, uint64_t *cas_out)
{
    if (v->nkey == 0 || v->nkey > STORE_KEY_MAX)
        return STORE_NOT_STORED;
    if (v->nval > st->max_item)
        return STORE_TOO_LARGE;
    struct item **link = lookup(st, v->key, v->nkey);
    struct item *old = link ? *link : NULL;
    enum store_result r = precondition(st, mode, v, old);
    if (r != STORE_STORED)
        return r;
    if (mode == STORE_APPEND || mode == STORE_PREPEND)
        return concat(st, mode, v, old, cas_out);
    if (v->exptime != 0 && v->exptime <= now_seconds(st)) {
        if (link)
            item_unlink(st, link);        /* stored and gone at once, as memcached */
        return STORE_STORED;
    }
    struct item *it = item_new(st, v, v->nval);
    if (!it)
        return STORE_NO_MEMORY;
    memcpy(it->data + it->nkey, v->val, v->nval);
    return install(st, it, old, cas_out);
}

enum store_result store_restore(struct store *st, const struct store_value *v,
                                uint32_t time_set, uint32_t reads)
{
    uint64_t cas;
    enum store_result r = store_put(st, STORE_SET, v, &cas);
    if (r == STORE_STORED) {
        struct item **link = find_link(st, v->key, v->nkey, hash_key(st, v->key, v->nkey));
        if (link && (*link)->cas == cas) {
            (*link)->time_set = time_set;
            (*link)->reads = reads;
        }
    }
    return r;
}

int store_delete(struct store *st, const char *key, size_t nkey)
{
    struct item **link = lookup(st, key, nkey);
    if (!link)
        return 0;
    item_unlink(st, link);
    return 1;
}

/* memcached's safe_strtoull: digits, optionally followed by spaces. */
static int parse_counter(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    if (n == 0 || n > 64)
        return -1;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (i == 0)
        return -1;
    for (; i < n; i++)
        if (s[i] != ' ' && s[i] != '\r' && s[i] != '\n')
            return -1;
    *out = v;
    return 0;
}

enum incr_result store_incr(struct store *st, const char *key, size_t nkey, int decr,
                            uint64_t delta, uint64_t *result)
{
    struct item **link = lookup(st, key, nkey);
    if (!link)
        return INCR_NOT_FOUND;
    struct item *old = *link;
    uint64_t v;
    if (parse_counter(item_value(old), old->nval, &v) == -1)
        return INCR_NON_NUMERIC;
    if (decr)
        v = delta > v ? 0 : v - delta;
    else
        v += delta;                                   /* wraps, as memcached */
    char digits[24];
    int n = 0;
    uint64_t t = v;
    do {
        digits[sizeof digits - 1 - (size_t)n++] = (char)('0' + t % 10);
        t /= 10;
    } while (t);
    struct store_value nv = {
        .key = key, .nkey = nkey, .val = digits + sizeof digits - n, .nval = (size_t)n,
        .flags = old->flags, .exptime = old->exptime, .kind = (enum item_kind)old->kind,
    };
    struct item *it = item_new(st, &nv, nv.nval);
    if (!it)
        return INCR_NO_MEMORY;
    memcpy(it->data + it->nkey, nv.val, nv.nval);
    it->time_set = old->time_set;
    it->reads = old->reads;
    if (install(st, it, old, NULL) != STORE_STORED)
        return INCR_NO_MEMORY;
    *result = v;
    return INCR_OK;
}

struct item *store_touch(struct store *st, const char *key, size_t nkey, uint32_t exptime)
{
    struct item **link = lookup(st, key, nkey);
    if (!link)
        return NULL;
    struct item *it = *link;
    it->exptime = exptime;
    lru_bump(st, it);
    if (expired(it, now_seconds(st))) {
        item_unlink(st, link);
        return NULL;
    }
    return it;
}

void store_reap_expired(struct store *st, unsigned max_buckets)
{
    if (rehashing(st) || st->t[0].size == 0)
        return;
    uint32_t now = now_seconds(st);
    for (unsigned n = 0; n < max_buckets; n++) {
        st->reap_pos = (st->reap_pos + 1) & (st->t[0].size - 1);
        struct item **p = &st->t[0].b[st->reap_pos];
        while (*p) {
            if (expired(*p, now)) {
                item_unlink(st, p);
                st->reclaimed++;
            } else {
                p = &(*p)->hnext;
            }
        }
    }
}
