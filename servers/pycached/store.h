/*
 * The store behind one pycached instance's JSON, HTTP and memcached
 * services: a hash table of items with an LRU list, a memory bound that
 * evicts the least recently used items, expiry times and CAS numbers.
 * Each store is independent of every other; single threaded: everything
 * runs on the reactor.
 *
 * Each item is one allocation: header, key, value.  Its value is either
 * raw bytes (set through memcached) or the JSON text of a value set
 * through the JSON protocol or HTTP; every protocol reads both kinds.
 */
#ifndef GALE_PYCACHED_STORE_H
#define GALE_PYCACHED_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_KEY_MAX 250

enum item_kind { ITEM_RAW, ITEM_JSON };

struct item {
    struct item *hnext;              /* hash chain */
    struct item *lru_prev, *lru_next;
    uint64_t cas;
    uint32_t hash;
    uint32_t time_set;               /* unix seconds */
    uint32_t exptime;                /* unix seconds; 0: never */
    uint32_t flags;                  /* memcached's client flags */
    uint32_t reads;                  /* times read through get */
    uint32_t nval;
    uint8_t nkey;
    uint8_t kind;                    /* enum item_kind */
    char data[];                     /* key bytes, then value bytes */
};

static inline const char *item_key(const struct item *it) { return it->data; }
static inline const char *item_value(const struct item *it) { return it->data + it->nkey; }

struct store;
struct pyc_stats;

/* A new empty store; max_memory bounds keys, values and bookkeeping
 * together.  stats (which must outlive the store) counts the reads that
 * meet an expired key.  NULL when out of memory. */
struct store *store_create(uint64_t max_memory, uint64_t max_item_size, struct pyc_stats *stats);
void store_destroy(struct store *st);             /* its items too; NULL is fine */
uint64_t store_max_item_size(const struct store *st);
uint64_t store_max_memory(const struct store *st);

/* The clock every expiry of st is measured on: unix seconds with
 * fractions.  Tests may replace it. */
typedef double (*store_clock_fn)(void);
void store_set_clock(struct store *st, store_clock_fn clock);
double store_time(const struct store *st);

/* memcached's exptime rules into an absolute time: 0 stays 0 (never),
 * negative means already expired, up to 30 days is relative to now,
 * anything larger is a unix time. */
uint32_t store_exptime(const struct store *st, int64_t exptime);
/* A TTL in seconds (JSON's "ttl"); <= 0 means already expired.  Both
 * round up: an item lives at least as long as asked, at most a second
 * more. */
uint32_t store_ttl(const struct store *st, double seconds);

/* A live item, or NULL (absent or expired; an expired one is reclaimed).
 * store_get counts a read (reads++) and makes it most recently used;
 * store_peek does neither. The pointer is valid until the next call that
 * changes the store. */
struct item *store_get(struct store *st, const char *key, size_t nkey);
struct item *store_peek(struct store *st, const char *key, size_t nkey);

enum store_mode { STORE_SET, STORE_ADD, STORE_REPLACE, STORE_APPEND, STORE_PREPEND, STORE_CAS };
enum store_result {
    STORE_STORED, STORE_NOT_STORED, STORE_EXISTS, STORE_NOT_FOUND,
    STORE_TOO_LARGE,    /* over --max-item-size */
    STORE_NO_MEMORY,    /* cannot make room even by evicting everything */
};

struct store_value {
    const char *key;
    size_t nkey;                     /* 1 to STORE_KEY_MAX */
    const char *val;
    size_t nval;
    uint32_t flags;
    uint32_t exptime;                /* absolute, from store_exptime/store_ttl */
    enum item_kind kind;
    uint64_t cas;                    /* STORE_CAS only */
};

/* memcached's storage commands.  APPEND/PREPEND keep the item's flags and
 * expiry and make it raw; a value that arrives expired deletes the key
 * and still answers STORED, as memcached does.  *cas_out (may be NULL)
 * gets the new item's CAS number. */
enum store_result store_put(struct store *st, enum store_mode mode,
                            const struct store_value *v, uint64_t *cas_out);

/* A snapshot's item, with its time set and read count as they were. */
enum store_result store_restore(struct store *st, const struct store_value *v,
                                uint32_t time_set, uint32_t reads);

int store_delete(struct store *st, const char *key, size_t nkey);  /* 1 deleted, 0 not found */

enum incr_result { INCR_OK, INCR_NOT_FOUND, INCR_NON_NUMERIC, INCR_NO_MEMORY };
/* memcached's incr/decr: 64-bit unsigned, incr wraps, decr stops at 0. */
enum incr_result store_incr(struct store *st, const char *key, size_t nkey, int decr,
                            uint64_t delta, uint64_t *result);

/* New expiry for a live item; NULL when absent.  Does not count a read. */
struct item *store_touch(struct store *st, const char *key, size_t nkey, uint32_t exptime);

void store_clear(struct store *st);                          /* every item, now */

size_t store_count(const struct store *st);                  /* live and not yet reclaimed */
uint64_t store_bytes(const struct store *st);                /* memory accounted now */
uint64_t store_evictions(const struct store *st);
uint64_t store_reclaimed(const struct store *st);            /* expired items freed */
uint64_t store_total_items(const struct store *st);          /* items stored since start */

/* Calls fn on every live item, least recently used first, until fn
 * returns non-zero.  fn must not change the store. */
typedef int (*store_visit_fn)(const struct item *it, void *arg);
void store_foreach(const struct store *st, store_visit_fn fn, void *arg);

/* Frees a bounded number of expired items; the service calls it from a
 * timer so that memory held by expired items comes back. */
void store_reap_expired(struct store *st, unsigned max_buckets);

#endif
