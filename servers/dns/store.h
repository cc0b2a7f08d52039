/*
 * The data gale dns answers from: the records of the loaded zones and
 * the names of the hosts files, indexed at load time so that a query
 * costs hash lookups and no allocation.  A store is built once and then
 * only read; a reload builds a new one and swaps it in whole, so a query
 * never sees half a reload.
 */
#ifndef GALE_DNS_STORE_H
#define GALE_DNS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "wire.h"

struct dns_store;

struct dns_store *store_new(void);
void store_free(struct dns_store *st);

/* Loading (before the store is used).  -1 and err on failure. */
int store_load_zone_file(struct dns_store *st, const char *path, char *err, size_t errlen);
int store_load_hosts_file(struct dns_store *st, const char *path, char *err, size_t errlen);
/* Adds one zone from records (a secondary's transfer): the first record
 * must be the SOA; the origin is its owner. */
int store_begin_zone(struct dns_store *st, const struct dns_name *origin, char *err,
                     size_t errlen);
int store_add_record(struct dns_store *st, const struct dns_name *owner, uint16_t type,
                     uint32_t ttl, const uint8_t *rdata, uint16_t rdlen, char *err,
                     size_t errlen);
int store_end_zone(struct dns_store *st, char *err, size_t errlen);

/* Counts for the log line after a load. */
size_t store_zone_count(const struct dns_store *st);
size_t store_host_names(const struct dns_store *st);

enum store_result {
    STORE_ANSWERED,     /* b holds the answer (AA set for zone data) */
    STORE_NOT_OURS,     /* no zone or hosts name covers it: forward or REFUSED */
};

/*
 * Answers q from the store into b (already begun with dns_begin_answer
 * by the caller, who then sets flags and rcode through this call):
 * - zones (authoritative, AA): exact matches; CNAME followed inside the
 *   zone (the chain in the answer, at most 16 steps, loop-safe); wildcards
 *   (RFC 4592: "*.zone" matches names below that do not exist, closest
 *   encloser rules); NXDOMAIN or NOERROR-no-data with the zone's SOA in
 *   the authority section, its TTL min(SOA TTL, SOA minimum) (RFC 2308);
 *   delegations (NS below the apex) answered as referrals
 *   (no AA, NS in authority, glue A/AAAA in additional);
 *   qtype ANY returns every record set of the name.
 * - hosts names (not authoritative): A and AAAA for each name and alias,
 *   PTR for in-addr.arpa / ip6.arpa of each address (the first name of
 *   the line); a hosts name asked for a type it lacks: NOERROR, no data.
 * Hosts answers carry a TTL of 300 seconds.
 * Records that do not fit set TC (the caller sees b->truncated).
 */
enum store_result store_answer(const struct dns_store *st, const struct dns_query *q,
                               struct dns_builder *b);

/* AXFR (RFC 5936): every record of the zone whose origin is qname, SOA
 * first and last, through cb; -1 when no such zone. */
typedef int (*store_axfr_cb)(void *arg, const struct dns_name *owner, uint16_t type,
                             uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);
int store_axfr(const struct dns_store *st, const struct dns_name *zone, store_axfr_cb cb,
               void *arg);
/* The SOA serial of a zone, for a secondary's refresh; -1 when none. */
int store_zone_serial(const struct dns_store *st, const struct dns_name *zone, uint32_t *serial);

#endif
