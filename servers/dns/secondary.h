/*
 * Secondary zones (--secondary IP/DOMAIN, twistd's option): the zone is
 * transferred by AXFR (RFC 5936) from the primary at start, its SOA
 * serial is checked every refresh interval (and at once on a NOTIFY from
 * the primary, RFC 1996), and it is transferred again when the serial
 * grows (RFC 1982 arithmetic); retry and expire are honoured and a
 * stalled transfer times out.
 */
#ifndef GALE_DNS_SECONDARY_H
#define GALE_DNS_SECONDARY_H

#include <stddef.h>
#include <sys/socket.h>
#include "wire.h"

struct dns_store;
/* One server's secondary zones, with what to call when one changes. */
struct dns_secondaries;

/* "192.0.2.1/example.com" or "127.0.0.1:5353/example.com" (the port is
 * an extension for tests and odd set-ups).  -1 and err when malformed. */
int secondary_check(const char *spec, char *err, size_t errlen);
/* Startup: an empty set; NULL when out of memory. */
struct dns_secondaries *secondaries_new(void);
int secondary_add(struct dns_secondaries *set, const char *spec, char *err, size_t errlen);
/* Starts the first transfers; changed(arg) runs after each new copy of
 * a zone (or its expiry), so the server can rebuild its store. */
void secondaries_start(struct dns_secondaries *set, void (*changed)(void *arg), void *arg);
/* Adds every zone that has a current copy to st. */
int secondary_fill(const struct dns_secondaries *set, struct dns_store *st, char *err,
                   size_t errlen);
/* A NOTIFY for zone from peer: 1 when it names one of set's zones and
 * comes from its primary (a check starts now), else 0. */
int secondary_notify(struct dns_secondaries *set, const struct dns_name *zone,
                     const struct sockaddr *peer);
/* Ends every check and transfer and frees the set (NULL is fine). */
void secondaries_free(struct dns_secondaries *set);

#endif
