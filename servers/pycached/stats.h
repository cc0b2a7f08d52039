/*
 * Counters shared by pycached's services, read by memcached's "stats"
 * and the HTTP service's /metrics.
 */
#ifndef GALE_PYCACHED_STATS_H
#define GALE_PYCACHED_STATS_H

#include <stdint.h>

enum pyc_proto { PROTO_JSON, PROTO_HTTP, PROTO_MEMCACHED, PROTO_COUNT };

struct pyc_stats {
    double started;                   /* unix time, with fractions */
    uint64_t curr_connections, total_connections;
    uint64_t conns[PROTO_COUNT];      /* open, by service */
    uint64_t cmd_get, cmd_set, cmd_touch, cmd_flush;
    uint64_t get_hits, get_misses, get_expired, get_flushed;
    uint64_t delete_hits, delete_misses;
    uint64_t incr_hits, incr_misses, decr_hits, decr_misses;
    uint64_t cas_hits, cas_misses, cas_badval;
    uint64_t touch_hits, touch_misses;
    uint64_t bytes_read, bytes_written;
};

extern struct pyc_stats pyc_stats;

void stats_init(void);
double stats_uptime(void);                      /* seconds since start */
void stats_conn_open(enum pyc_proto p);
void stats_conn_close(enum pyc_proto p);

/* Counts one command by name ("get", "set"); name is a string literal
 * that lives for the whole run.  At most 64 names per protocol. */
void stats_command(enum pyc_proto p, const char *name);
typedef void (*stats_command_fn)(enum pyc_proto p, const char *name, uint64_t n, void *arg);
void stats_foreach_command(stats_command_fn fn, void *arg);
const char *stats_proto_name(enum pyc_proto p);  /* "json", "http", "memcached" */

#endif
