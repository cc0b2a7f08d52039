/*
 * memcached's "stats" command (general, settings, reset, detail) over
 * pycached's shared counters and the store, for the memcached service.
 */
#ifndef GALE_PYCACHED_MCSTATS_H
#define GALE_PYCACHED_MCSTATS_H

#include <stdint.h>

struct evbuffer;
struct mc_request;

/* Appends the reply to a parsed "stats [group [arg]]" to out. */
void mcstats_reply(struct evbuffer *out, const struct mc_request *r,
                   int port);

/* "verbosity N": remembered for "stats settings", nothing more. */
void mcstats_set_verbosity(uint32_t level);

#endif
