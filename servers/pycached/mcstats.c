/*
 * memcached's "stats" for the memcached service (mcstats.h): the general
 * statistics with memcached 1.6's names and order, a subset of "stats
 * settings", "stats reset" and "stats detail".
 *
 * The counters are shared with the HTTP service's /metrics, where a
 * counter only ever grows; so "stats reset" zeroes nothing but takes a
 * baseline that this view subtracts.
 * https://github.com/memcached/memcached/blob/master/doc/protocol.txt
 */
#include "mcstats.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "conn.h"
#include "mcproto.h"
#include "stats.h"
#include "store.h"

#define COUNTER(f) { #f, offsetof(struct pyc_stats, f) }

/* The plain counters, in the order memcached lists them. */
static const struct counter {
    const char *name;
    size_t off;
} counters[] = {
    COUNTER(cmd_get), COUNTER(cmd_set), COUNTER(cmd_flush), COUNTER(cmd_touch),
    COUNTER(get_hits), COUNTER(get_misses), COUNTER(get_expired), COUNTER(get_flushed),
    COUNTER(delete_misses), COUNTER(delete_hits), COUNTER(incr_misses), COUNTER(incr_hits),
    COUNTER(decr_misses), COUNTER(decr_hits), COUNTER(cas_misses), COUNTER(cas_hits),
    COUNTER(cas_badval), COUNTER(touch_hits), COUNTER(touch_misses), COUNTER(bytes_read),
    COUNTER(bytes_written),
};

void mcstats_set_verbosity(struct mcstats *m, uint32_t level) { m->verbosity = level; }

/* A counter of struct pyc_stats, at offset off, since the last reset. */
static uint64_t since_reset(const struct mcstats *m, const struct pyc_stats *now_stats,
                            size_t off)
{
    uint64_t now, then;
    memcpy(&now, (const char *)now_stats + off, sizeof now);
    memcpy(&then, (const char *)&m->base + off, sizeof then);
    return now - then;
}

static void stat_u64(struct evbuffer *out, const char *name, uint64_t v)
{
    evbuffer_add_printf(out, "STAT %s %" PRIu64 "\r\n", name, v);
}

static void stat_str(struct evbuffer *out, const char *name, const char *v)
{
    evbuffer_add_printf(out, "STAT %s %s\r\n", name, v);
}

static void stat_time(struct evbuffer *out, const char *name, struct timeval tv)
{
    evbuffer_add_printf(out, "STAT %s %ld.%06ld\r\n", name, (long)tv.tv_sec, (long)tv.tv_usec);
}

/* No per-listener limit is readable from conn.h, so the descriptor limit,
 * which bounds connections whatever --max-connections says. */
static uint64_t max_connections(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    return (uint64_t)rl.rlim_cur;
}

static void general(const struct mcstats *m, const struct pyc_stats *now,
                    const struct store *st, struct evbuffer *out)
{
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    getrusage(RUSAGE_SELF, &ru);
    stat_u64(out, "pid", (uint64_t)getpid());
    stat_u64(out, "uptime", (uint64_t)stats_uptime(now));
    stat_u64(out, "time", (uint64_t)time(NULL));
    stat_str(out, "version", GALE_VERSION);
    stat_str(out, "libevent", event_get_version());
    stat_u64(out, "pointer_size", 8 * sizeof(void *));
    stat_time(out, "rusage_user", ru.ru_utime);
    stat_time(out, "rusage_system", ru.ru_stime);
    stat_u64(out, "max_connections", max_connections());
    stat_u64(out, "curr_connections", now->curr_connections);
    stat_u64(out, "total_connections",
             since_reset(m, now, offsetof(struct pyc_stats, total_connections)));
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        stat_u64(out, counters[i].name, since_reset(m, now, counters[i].off));
    stat_u64(out, "limit_maxbytes", store_max_memory(st));
    stat_u64(out, "threads", 1);
    stat_u64(out, "bytes", store_bytes(st));
    stat_u64(out, "curr_items", store_count(st));
    stat_u64(out, "total_items", store_total_items(st) - m->base_total_items);
    stat_u64(out, "evictions", store_evictions(st) - m->base_evictions);
    stat_u64(out, "reclaimed", store_reclaimed(st) - m->base_reclaimed);
}

static void settings(const struct mcstats *m, const struct store *st, struct evbuffer *out,
                     int port)
{
    stat_u64(out, "maxbytes", store_max_memory(st));
    stat_u64(out, "maxconns", max_connections());
    stat_u64(out, "tcpport", (uint64_t)port);
    stat_u64(out, "udpport", 0);
    stat_u64(out, "verbosity", m->verbosity);
    stat_str(out, "evictions", "on");
    stat_u64(out, "num_threads", 1);
    stat_str(out, "cas_enabled", "yes");
    stat_str(out, "flush_enabled", "yes");
    stat_u64(out, "item_size_max", store_max_item_size(st));
    stat_str(out, "binding_protocol", "ascii");
    stat_u64(out, "idle_timeout", 0);
}

static void reset(struct mcstats *m, const struct pyc_stats *now, const struct store *st)
{
    m->base = *now;
    m->base_total_items = store_total_items(st);
    m->base_evictions = store_evictions(st);
    m->base_reclaimed = store_reclaimed(st);
}

static int is(struct mc_str t, const char *s)
{
    size_t n = strlen(s);
    return t.len == n && memcmp(t.p, s, n) == 0;
}

static void line(struct evbuffer *out, const char *s)
{
    evbuffer_add_printf(out, "%s\r\n", s);
}

/* "stats detail on|off|dump": there are no key prefixes to report, so
 * on and off change nothing and the dump is empty. */
static void detail(struct evbuffer *out, struct mc_str arg)
{
    if (is(arg, "on") || is(arg, "off"))
        line(out, "OK");
    else if (is(arg, "dump"))
        line(out, "END");
    else
        line(out, "CLIENT_ERROR usage: stats detail on|off|dump");
}

void mcstats_reply(struct mcstats *m, const struct pyc_stats *now, const struct store *st,
                   struct evbuffer *out, const struct mc_request *r, int port)
{
    struct mc_str g = r->group;
    if (g.len == 0) {
        general(m, now, st, out);
    } else if (is(g, "settings")) {
        settings(m, st, out, port);
    } else if (is(g, "reset")) {
        reset(m, now, st);
        line(out, "RESET");
        return;
    } else if (is(g, "detail")) {
        detail(out, r->arg);
        return;
    } else if (!is(g, "items") && !is(g, "slabs") && !is(g, "sizes")) {
        line(out, "ERROR");          /* as memcached for a group it does not know */
        return;
    }
    line(out, "END");                /* items, slabs, sizes: no slab classes here */
}
