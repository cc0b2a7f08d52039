/*
 * One pycached instance's counters, shared by its services and read by
 * memcached's "stats" and the HTTP service's /metrics.
 */
#ifndef GALE_PYCACHED_STATS_H
#define GALE_PYCACHED_STATS_H

#include <stdint.h>

enum pyc_proto { PROTO_JSON, PROTO_HTTP, PROTO_MEMCACHED, PROTO_COUNT };

#define STATS_NAMES_MAX 64           /* command names counted per protocol */

struct pyc_command_count {
    const char *name;                /* NULL: the slot is free */
    uint64_t n;
};

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
    struct pyc_command_count commands[PROTO_COUNT][STATS_NAMES_MAX];
};

void stats_init(struct pyc_stats *s);                 /* zeroed, started now */
double stats_uptime(const struct pyc_stats *s);       /* seconds since start */
void stats_conn_open(struct pyc_stats *s, enum pyc_proto p);
void stats_conn_close(struct pyc_stats *s, enum pyc_proto p);

/* Counts one command by name ("get", "set"); name is a string literal
 * that lives for the whole run.  At most STATS_NAMES_MAX names per
 * protocol. */
void stats_command(struct pyc_stats *s, enum pyc_proto p, const char *name);
typedef void (*stats_command_fn)(enum pyc_proto p, const char *name, uint64_t n, void *arg);
void stats_foreach_command(const struct pyc_stats *s, stats_command_fn fn, void *arg);
const char *stats_proto_name(enum pyc_proto p);  /* "json", "http", "memcached" */

#endif
