/*
 * Private to store.c (building the index) and answer.c (reading it): the
 * inside of a struct dns_store.  Not part of the store.h contract.
 *
 * Every name lives in a "space": the hosts names (and their reverse
 * in-addr.arpa / ip6.arpa names), the directory of zone apexes, or one
 * space per zone, so that a name can be in several zones (a parent's
 * delegation and the child's apex) without the two mixing.  One
 * open-addressing hash table indexes (space, name) for all of them.
 * Names and rdata are bytes in one arena, referred to by 32-bit offsets;
 * records are 16 bytes, chained per name in the order they were loaded.
 */
#ifndef GALE_DNS_STORE_INDEX_H
#define GALE_DNS_STORE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define ST_NONE UINT32_MAX
#define ST_SPACE_HOSTS 0
#define ST_SPACE_ZONES 1           /* zone apexes: the node's first is the zone's index */
#define ST_SPACE_ZONE0 2           /* zone i's names are in space ST_SPACE_ZONE0 + i */
#define ST_HOSTS_TTL 300
#define ST_CHAIN_MAX 16            /* CNAME steps followed for one answer */

struct st_rr {
    uint32_t next;                 /* the name's next record, or ST_NONE */
    uint32_t ttl;
    uint32_t rd;                   /* rdata offset in the arena */
    uint16_t type, rdlen;
};

struct st_node {
    uint32_t name;                 /* arena offset of [len][wire], case as loaded */
    uint32_t space;
    uint32_t first, last;          /* its records, or ST_NONE (an empty non-terminal) */
};

struct st_slot {
    uint32_t node;                 /* node index + 1; 0 is an empty slot */
    uint32_t hash;
};

struct st_zone {
    struct dns_name origin;
    uint32_t space;
    uint32_t node_begin, node_end; /* its nodes were made in one run */
    uint32_t soa;                  /* the SOA record */
    int has_cuts;                  /* NS below the apex: look for referrals */
};

/* What a failed load rolls back to. */
struct st_mark {
    size_t nodes, rrs, arena, host_names;
};

struct dns_store {
    uint8_t *arena;
    size_t arena_len, arena_cap;
    struct st_node *nodes;
    size_t n_nodes, nodes_cap;
    struct st_rr *rrs;
    size_t n_rrs, rrs_cap;
    struct st_slot *slots;         /* a power of two of them, at most 3/4 used */
    size_t slots_cap, slots_used;
    struct st_zone *zones;
    size_t n_zones, zones_cap;
    int zone_labels_max;           /* labels of the deepest zone's origin */
    size_t host_names;
    int building;                  /* a zone is between begin and end */
    struct st_zone pending;
    struct st_mark mark;
};

/* What a name already holds, against a record about to join it. */
struct st_seen {
    size_t count, cnames;          /* its records; its CNAMEs */
    int dup, has_type;             /* the same record is there; one of the type is */
};

/* store.c: the index.  These fail (-1) only when memory or the 32-bit
 * offsets run out. */
/* The node of (space, name), or ST_NONE; name is wire form, any case. */
uint32_t st_find(const struct dns_store *st, uint32_t space, const uint8_t *wire, size_t len);
void st_node_name(const struct dns_store *st, uint32_t node, struct dns_name *out);
/* The node of (space, name), made with no records when missing (*made). */
int st_intern(struct dns_store *st, uint32_t space, const uint8_t *w, size_t len,
              uint32_t *node, int *made);
/* v with room for need elements of elem bytes, doubling from first;
 * NULL (v untouched) when memory or the 32-bit indexes run out. */
void *st_grow(void *v, size_t *cap, size_t need, size_t elem, size_t first);
/* Makes room for this much more at once (a hint: nothing fails). */
void st_reserve(struct dns_store *st, size_t nodes, size_t rrs, size_t bytes);
/* Bytes into the arena; *off gets where. */
int st_put(struct dns_store *st, const void *p, size_t n, uint32_t *off);
/* Appends a record to node's chain, its rdata already in the arena. */
int st_add_rr(struct dns_store *st, uint32_t node, uint16_t type, uint32_t ttl, uint32_t rd,
              size_t rdlen);
/* rd NULL: only has_type is looked for. */
void st_seen(const struct dns_store *st, uint32_t node, uint16_t type, const uint8_t *rd,
             size_t rdlen, struct st_seen *s);
/* Remembers the store's size, and brings it back to that after a failure. */
void st_mark_set(struct dns_store *st);
void st_rollback(struct dns_store *st);

/* answer.c: the zone whose origin is the longest suffix of n, or NULL. */
const struct st_zone *st_zone_for(const struct dns_store *st, const struct dns_name *n);

#endif
