/*
 * Zone transfers from the store: AXFR (RFC 5936) and IXFR (RFC 1995),
 * the latter answered either with the SOA alone (the client is current)
 * or with the whole zone in AXFR form, which RFC 1995 4 allows.
 */
#ifndef GALE_DNS_XFR_H
#define GALE_DNS_XFR_H

#include "store.h"
#include "wire.h"

struct gale_session;

/* Writes the answer to a transfer request q onto a TCP connection, as
 * many framed messages as it takes; a client not allowed transfers gets
 * REFUSED, a name that is no zone of ours NOTAUTH.  Logs one line. */
void xfr_answer_tcp(struct gale_session *gs, const struct dns_store *st,
                    const struct dns_query *q, int allowed, const char *client);

/* IXFR over UDP: the zone's SOA, which tells a client that is behind to
 * ask again over TCP (RFC 1995 2).  b has been begun; sets the rcode. */
void xfr_answer_udp(const struct dns_store *st, const struct dns_query *q, int allowed,
                    struct dns_builder *b);

#endif
