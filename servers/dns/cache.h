/*
 * The answer cache of -c: upstream answers kept for their TTL (RFC 1035
 * 7.4), negative answers for the SOA's negative TTL (RFC 2308 section
 * 5), at most a fixed number of entries with the least recently used
 * dropped first.
 */
#ifndef GALE_DNS_CACHE_H
#define GALE_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "wire.h"

struct dns_cache;

struct dns_cache *cache_new(size_t max_entries);
void cache_free(struct dns_cache *c);
/* Keeps msg (an upstream's answer to q) if it may be cached. */
void cache_put(struct dns_cache *c, const struct dns_query *q, const uint8_t *msg, size_t len);
/* A fresh answer to q into out (TTLs lowered by the time it has been
 * kept, the id set to q's); its length, or 0 when there is none. */
size_t cache_get(struct dns_cache *c, const struct dns_query *q, uint8_t *out, size_t cap);

#endif
