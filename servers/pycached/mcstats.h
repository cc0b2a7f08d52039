/*
 * memcached's "stats" command (general, settings, reset, detail) over
 * one pycached instance's counters and store, for its memcached service.
 */
#ifndef GALE_PYCACHED_MCSTATS_H
#define GALE_PYCACHED_MCSTATS_H

#include <stdint.h>
#include "stats.h"

struct evbuffer;
struct mc_request;
struct store;

/* What "stats" remembers of its own, per instance. */
struct mcstats {
    struct pyc_stats base;        /* the counters as they were at the last "stats reset" */
    uint64_t base_total_items, base_evictions, base_reclaimed;
    uint32_t verbosity;           /* the last "verbosity N" */
};

/* Appends the reply to a parsed "stats [group [arg]]" about the counters
 * now and the store st to out. */
void mcstats_reply(struct mcstats *m, const struct pyc_stats *now, const struct store *st,
                   struct evbuffer *out, const struct mc_request *r, int port);

/* "verbosity N": remembered for "stats settings", nothing more. */
void mcstats_set_verbosity(struct mcstats *m, uint32_t level);

#endif
