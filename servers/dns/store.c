/*
 * gale dns's record store: the index that store_load.c fills and
 * answer.c reads, laid out in store_index.h; see store.h.
 *   RFC 4343 names compare and hash without regard to ASCII case;
 *   RFC 1034 3.1 a name is its wire form (RFC 1035 3.1).
 * Memory: names and rdata go into one arena of a few large blocks; a
 * name costs a 16-byte node and, with the table at most 3/4 full, some
 * 8-byte hash slots besides, a record 16 bytes and its rdata.  Nothing
 * is malloc'd per name, and lookups neither allocate nor copy.  Loads
 * are rolled back by truncating the arrays (everything is appended) and
 * rebuilding the table in place.
 */
#include "store.h"
#include "store_index.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ST_COUNT_MAX (UINT32_MAX - 1)    /* offsets and indexes are 32 bits; ST_NONE is taken */

/* ---- arrays, the arena ---- */

/* Large arrays on 2 MiB pages where the kernel offers them: a million
 * names fault in 40,000 small pages otherwise, which costs more than
 * indexing them.  Only advice; p is returned as it was. */
static void *st_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(huge - 1);

    if (p && n >= 4 * huge && end > start)
        madvise((void *)start, end - start, MADV_HUGEPAGE);
#endif
    return p;
}

/* v with room for need elements, doubling; NULL (v untouched) when
 * memory or the 32-bit indexes run out. */
void *st_grow(void *v, size_t *cap, size_t need, size_t elem, size_t first)
{
    size_t c = *cap ? *cap : first;
    void *p;

    if (need <= *cap)
        return v;
    if (need > ST_COUNT_MAX)
        return NULL;
    while (c < need)
        c = c > ST_COUNT_MAX / 2 ? ST_COUNT_MAX : c * 2;
    p = st_huge(realloc(v, c * elem), c * elem);
    if (p)
        *cap = c;
    return p;
}

int st_put(struct dns_store *st, const void *p, size_t n, uint32_t *off)
{
    void *a = st_grow(st->arena, &st->arena_cap, st->arena_len + n, 1, (size_t)1 << 16);

    if (!a)
        return -1;
    st->arena = a;
    *off = (uint32_t)st->arena_len;
    if (n > 0)
        memcpy(st->arena + st->arena_len, p, n);
    st->arena_len += n;
    return 0;
}

/* ---- the hash index of (space, name) ---- */

static uint8_t st_fold(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Eight name bytes with A-Z folded to a-z at once: a byte gets 0x20
 * when it is at least 'A' and at most 'Z' (its top bit clear). */
static uint64_t st_fold8(uint64_t x)
{
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full, top = 0x8080808080808080ull;
    uint64_t a = x & low7;
    uint64_t ge_a = a + 0x3F3F3F3F3F3F3F3Full;   /* top bit: byte >= 'A' */
    uint64_t gt_z = a + 0x2525252525252525ull;   /* top bit: byte > 'Z' */
    return x | ((ge_a & ~gt_z & ~x & top) >> 2);
}

static uint64_t st_mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

/* The folded name eight bytes at a time, then a finalizer so that the
 * low bits, which pick the slot, depend on every byte.  The table is
 * built from the operator's files and only read by queries, so a client
 * cannot lengthen its chains. */
static uint32_t st_hash(uint32_t space, const uint8_t *w, size_t len)
{
    uint64_t h = ((uint64_t)space << 32 | len) * 0xC2B2AE3D27D4EB4Full, v;
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        memcpy(&v, w + i, 8);
        h = st_mix(h, st_fold8(v));
    }
    if (i < len) {
        v = 0;
        memcpy(&v, w + i, len - i);
        h = st_mix(h, st_fold8(v));
    }
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    return (uint32_t)h;
}

static int st_node_is(const struct dns_store *st, uint32_t node, uint32_t space,
                      const uint8_t *w, size_t len)
{
    const struct st_node *nd = &st->nodes[node];
    const uint8_t *name = st->arena + nd->name;

    if (nd->space != space || name[0] != len)
        return 0;
    if (memcmp(name + 1, w, len) == 0)
        return 1;                  /* spelled alike, as most queries are */
    for (size_t i = 0; i < len; i++)
        if (st_fold(name[1 + i]) != st_fold(w[i]))
            return 0;
    return 1;
}

static uint32_t st_lookup(const struct dns_store *st, uint32_t space, const uint8_t *w,
                          size_t len, uint32_t h)
{
    size_t mask = st->slots_cap - 1;

    if (st->slots_cap == 0)
        return ST_NONE;
    for (size_t i = h & mask; st->slots[i].node; i = (i + 1) & mask)
        if (st->slots[i].hash == h && st_node_is(st, st->slots[i].node - 1, space, w, len))
            return st->slots[i].node - 1;
    return ST_NONE;
}

uint32_t st_find(const struct dns_store *st, uint32_t space, const uint8_t *wire, size_t len)
{
    return st_lookup(st, space, wire, len, st_hash(space, wire, len));
}

void st_node_name(const struct dns_store *st, uint32_t node, struct dns_name *out)
{
    const uint8_t *name = st->arena + st->nodes[node].name;

    out->len = name[0];
    memcpy(out->wire, name + 1, name[0]);
}

static void st_slot_put(struct st_slot *slots, size_t cap, uint32_t node, uint32_t h)
{
    size_t i = h & (cap - 1);

    while (slots[i].node)
        i = (i + 1) & (cap - 1);
    slots[i].node = node + 1;
    slots[i].hash = h;
}

/* Fills a table of cap slots from the nodes: to grow, and after a
 * rollback (same cap: in place, so it cannot fail). */
static int st_rehash(struct dns_store *st, size_t cap)
{
    struct st_slot *slots = st->slots;

    if (cap != st->slots_cap) {
        if (!(slots = st_huge(calloc(cap, sizeof *slots), cap * sizeof *slots)))
            return -1;
        free(st->slots);
    } else if (cap > 0) {
        memset(slots, 0, cap * sizeof *slots);
    }
    st->slots = slots;
    st->slots_cap = cap;
    for (size_t i = 0; i < st->n_nodes; i++) {
        const uint8_t *name = st->arena + st->nodes[i].name;
        st_slot_put(slots, cap, (uint32_t)i, st_hash(st->nodes[i].space, name + 1, name[0]));
    }
    st->slots_used = st->n_nodes;
    return 0;
}

/* v with room for exactly need elements, when it has less. */
static void *st_grow_exact(void *v, size_t *cap, size_t need, size_t elem)
{
    void *p;

    if (need <= *cap)
        return v;
    if (need > ST_COUNT_MAX || !(p = st_huge(realloc(v, need * elem), need * elem)))
        return NULL;
    *cap = need;
    return p;
}

/* Growing the table step by step rehashes every name at each step, and
 * doubling the arrays copies them and leaves half of the last step
 * unused: a load that knows roughly what is coming makes room at once.
 * Only a hint: when memory is short here, the load still grows as it goes. */
void st_reserve(struct dns_store *st, size_t nodes, size_t rrs, size_t bytes)
{
    size_t want = st->n_nodes + nodes, cap = st->slots_cap ? st->slots_cap : 1024;
    void *p;

    if (want > ST_COUNT_MAX)
        return;
    while (want * 4 > cap * 3)
        cap *= 2;
    if (cap != st->slots_cap && st_rehash(st, cap) != 0)
        return;
    if ((p = st_grow_exact(st->nodes, &st->nodes_cap, want, sizeof *st->nodes)))
        st->nodes = p;
    if ((p = st_grow_exact(st->rrs, &st->rrs_cap, st->n_rrs + rrs, sizeof *st->rrs)))
        st->rrs = p;
    if ((p = st_grow_exact(st->arena, &st->arena_cap, st->arena_len + bytes, 1)))
        st->arena = p;
}

/* The node of (space, n), made (with no records) when missing. */
int st_intern(struct dns_store *st, uint32_t space, const uint8_t *w, size_t len,
              uint32_t *node, int *made)
{
    uint32_t h = st_hash(space, w, len), off;
    uint8_t name[1 + DNS_NAME_MAX];
    void *p;

    *made = 0;
    if ((*node = st_lookup(st, space, w, len, h)) != ST_NONE)
        return 0;
    if ((st->slots_used + 1) * 4 > st->slots_cap * 3 &&
        st_rehash(st, st->slots_cap ? st->slots_cap * 2 : 1024) != 0)
        return -1;
    if (!(p = st_grow(st->nodes, &st->nodes_cap, st->n_nodes + 1, sizeof *st->nodes, 1024)))
        return -1;
    st->nodes = p;
    name[0] = (uint8_t)len;
    memcpy(name + 1, w, len);
    if (st_put(st, name, 1 + len, &off) != 0)
        return -1;
    *node = (uint32_t)st->n_nodes++;
    st->nodes[*node] = (struct st_node){ off, space, ST_NONE, ST_NONE };
    st_slot_put(st->slots, st->slots_cap, *node, h);
    st->slots_used++;
    *made = 1;
    return 0;
}

/* Appends a record to node's chain; its rdata is already in the arena. */
int st_add_rr(struct dns_store *st, uint32_t node, uint16_t type, uint32_t ttl, uint32_t rd,
              size_t rdlen)
{
    struct st_node *nd = &st->nodes[node];
    void *p = st_grow(st->rrs, &st->rrs_cap, st->n_rrs + 1, sizeof *st->rrs, 1024);
    uint32_t r = (uint32_t)st->n_rrs;

    if (!p)
        return -1;
    st->rrs = p;
    st->rrs[r] = (struct st_rr){ ST_NONE, ttl, rd, type, (uint16_t)rdlen };
    st->n_rrs++;
    if (nd->last == ST_NONE)
        nd->first = r;
    else
        st->rrs[nd->last].next = r;
    nd->last = r;
    return 0;
}

/* Counts node's records, and looks for one like (type, rd) among them. */
void st_seen(const struct dns_store *st, uint32_t node, uint16_t type, const uint8_t *rd,
             size_t rdlen, struct st_seen *s)
{
    memset(s, 0, sizeof *s);
    for (uint32_t r = st->nodes[node].first; r != ST_NONE; r = st->rrs[r].next) {
        const struct st_rr *rr = &st->rrs[r];
        s->count++;
        s->cnames += rr->type == DNS_T_CNAME;
        if (rr->type != type)
            continue;
        s->has_type = 1;
        if (rd && rr->rdlen == rdlen && memcmp(st->arena + rr->rd, rd, rdlen) == 0)
            s->dup = 1;
    }
}

/* ---- rolling a failed load back ---- */

void st_mark_set(struct dns_store *st)
{
    st->mark = (struct st_mark){ st->n_nodes, st->n_rrs, st->arena_len, st->host_names };
}

/* Records are appended, so a chain's new records are its tail. */
static void st_cut_chain(struct dns_store *st, struct st_node *nd, size_t keep)
{
    uint32_t r = nd->first;

    if (nd->last == ST_NONE || nd->last < keep)
        return;
    if (r >= keep) {
        nd->first = nd->last = ST_NONE;
        return;
    }
    while (st->rrs[r].next < keep)
        r = st->rrs[r].next;
    st->rrs[r].next = ST_NONE;
    nd->last = r;
}

void st_rollback(struct dns_store *st)
{
    const struct st_mark *m = &st->mark;

    for (size_t i = 0; i < m->nodes; i++)
        st_cut_chain(st, &st->nodes[i], m->rrs);
    st->n_nodes = m->nodes;
    st->n_rrs = m->rrs;
    st->arena_len = m->arena;
    st->host_names = m->host_names;
    st_rehash(st, st->slots_cap);
    st->building = 0;
}

/* ---- the store ---- */

struct dns_store *store_new(void)
{
    return calloc(1, sizeof(struct dns_store));
}

void store_free(struct dns_store *st)
{
    if (!st)
        return;
    free(st->arena);
    free(st->nodes);
    free(st->rrs);
    free(st->slots);
    free(st->zones);
    free(st);
}

size_t store_zone_count(const struct dns_store *st)
{
    return st->n_zones;
}

size_t store_host_names(const struct dns_store *st)
{
    return st->host_names;
}

size_t store_memory(const struct dns_store *st)
{
    return sizeof *st + st->arena_cap + st->nodes_cap * sizeof *st->nodes +
           st->rrs_cap * sizeof *st->rrs + st->slots_cap * sizeof *st->slots +
           st->zones_cap * sizeof *st->zones;
}
