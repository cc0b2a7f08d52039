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

/*
 * Loading (before the store is used).  -1 and err on failure, and then
 * the store is as it was before the call.  A zone file's $INCLUDE may
 * only name files that resolve inside its own folder or below it (an
 * absolute path, or one relative to that folder); a file and its includes hold at
 * most 256 MiB.  The zone needs one SOA, at its apex (the origin: from
 * $ORIGIN or the SOA's owner); every record inside it; no CNAME beside
 * other data.  Errors read "file:line: what" where a line is to blame.
 * Malformed hosts lines are skipped: store_load_hosts_file still returns
 * 0, with err saying how many and where the first was ("" when none).
 */
int store_load_zone_file(struct dns_store *st, const char *path, char *err, size_t errlen);
int store_load_hosts_file(struct dns_store *st, const char *path, char *err, size_t errlen);
/* Adds one zone from records (a secondary's transfer), in any order; an
 * identical record again (the SOA that ends an AXFR) is ignored.  A
 * failed add drops the whole zone: begin again.  The zone is served once
 * store_end_zone has checked it (as for a file). */
int store_begin_zone(struct dns_store *st, const struct dns_name *origin, char *err,
                     size_t errlen);
int store_add_record(struct dns_store *st, const struct dns_name *owner, uint16_t type,
                     uint32_t ttl, const uint8_t *rdata, uint16_t rdlen, char *err,
                     size_t errlen);
int store_end_zone(struct dns_store *st, char *err, size_t errlen);

/* Counts for the log line after a load. */
size_t store_zone_count(const struct dns_store *st);
size_t store_host_names(const struct dns_store *st);
size_t store_memory(const struct dns_store *st);      /* bytes allocated */

enum store_result {
    STORE_ANSWERED,     /* b holds the answer (AA set for zone data) */
    STORE_NOT_OURS,     /* no zone or hosts name covers it: forward or REFUSED */
};

/*
 * Answers q from the store into b, which the caller has begun with
 * dns_begin_answer; store_answer then sets AA, TC and the rcode in
 * b->hdr.flags (dns_finish writes the header), and the caller may still
 * add an OPT record and must call dns_finish.  A name under a loaded zone
 * is answered from the deepest such zone only, hosts names below it
 * are not looked at.  Class other than IN or ANY: STORE_NOT_OURS.
 * - zones (authoritative, AA): exact matches; CNAME followed inside the
 *   zone (the chain in the answer, at most 16 steps, loop-safe); wildcards
 *   (RFC 4592: "*.zone" matches names below that do not exist, closest
 *   encloser rules); NXDOMAIN or NOERROR-no-data with the zone's SOA in
 *   the authority section, its TTL min(SOA TTL, SOA minimum) (RFC 2308);
 *   addresses of MX, NS and SRV targets the store holds as additional
 *   data; delegations (NS below the apex) answered as referrals
 *   (no AA, NS in authority, glue A/AAAA in additional);
 *   qtype ANY returns every record set of the name.
 * - hosts names (not authoritative): A and AAAA for each name and alias,
 *   PTR for in-addr.arpa / ip6.arpa of each address (the first name of
 *   the line); a hosts name asked for a type it lacks: NOERROR, no data.
 * Hosts answers carry a TTL of 300 seconds.
 * Answer or authority records, or a referral's in-domain glue, that do
 * not fit set TC and b->truncated; other additional data that does not
 * fit is left out (RFC 2181 9), so it may fill b: to be sure of room
 * for an OPT record, begin b 11 bytes short and give them back before
 * dns_add_opt.  No allocation.
 */
enum store_result store_answer(const struct dns_store *st, const struct dns_query *q,
                               struct dns_builder *b);

/* AXFR (RFC 5936): every record of the zone whose origin is zone, SOA
 * first and last, through cb; 0, -1 when no such zone, or cb's non-zero
 * return, which stops the walk. */
typedef int (*store_axfr_cb)(void *arg, const struct dns_name *owner, uint16_t type,
                             uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);
int store_axfr(const struct dns_store *st, const struct dns_name *zone, store_axfr_cb cb,
               void *arg);
/* The SOA serial of a zone, for a secondary's refresh; -1 when none. */
int store_zone_serial(const struct dns_store *st, const struct dns_name *zone, uint32_t *serial);

#endif
