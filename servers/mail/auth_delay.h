/*
 * The failed logins of each client address, for auth.h's growing delay:
 * the first failure is answered after 1 s, the next after 2 s, 4 s, 8 s,
 * then 15 s each; an address with no failure for 10 minutes is
 * forgotten.  The table holds a bounded number of addresses and drops the
 * one whose last failure is oldest when it is full, so a flood of
 * addresses costs memory that does not grow.  Pure: the caller gives the
 * time, so tests can run a clock of their own.
 */
#ifndef GALE_MAIL_AUTH_DELAY_H
#define GALE_MAIL_AUTH_DELAY_H

#include <stddef.h>

#define AUTH_DELAY_FIRST 1.0         /* seconds, after the first failure */
#define AUTH_DELAY_MAX 15.0
#define AUTH_DELAY_FORGET 600.0      /* seconds without a failure */
#define AUTH_DELAY_ADDRS 4096
#define AUTH_DELAY_KEY_MAX 17        /* an address family and 16 octets */

struct auth_delay;

/* max addresses (at least 1).  NULL when out of memory. */
struct auth_delay *auth_delay_new(size_t max);
void auth_delay_free(struct auth_delay *t);

/* A failure from the address key (up to AUTH_DELAY_KEY_MAX octets) at
 * now, in seconds of a monotonic clock: the seconds to wait before
 * answering it. */
double auth_delay_failed(struct auth_delay *t, const void *key, size_t len, double now);

/* The failures remembered for key at now (0 once forgotten), and how
 * many addresses the table holds. */
unsigned auth_delay_failures(struct auth_delay *t, const void *key, size_t len, double now);
size_t auth_delay_count(const struct auth_delay *t);

#endif
