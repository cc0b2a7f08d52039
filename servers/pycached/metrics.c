/*
 * GET /metrics: the store's and the services' counters in Prometheus's
 * text format 0.0.4.  Each family is written once, HELP and TYPE first,
 * then its samples; label values are escaped as the format asks
 * (backslash, double quote, newline).
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdint.h>
#include <event2/buffer.h>

#include "stats.h"
#include "store.h"

struct family {
    const char *name;
    const char *type;            /* "gauge" or "counter" */
    const char *help;
};

static void family_head(struct evbuffer *out, const struct family *f)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
}

static void family_u64(struct evbuffer *out, const struct family *f, uint64_t v)
{
    family_head(out, f);
    evbuffer_add_printf(out, "%s %" PRIu64 "\n", f->name, v);
}

/* A label value; names come from the code, escaped all the same. */
static void put_label_value(struct evbuffer *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            evbuffer_add_printf(out, "\\%c", *s);
        else if (*s == '\n')
            evbuffer_add(out, "\\n", 2);
        else
            evbuffer_add(out, s, 1);
    }
}

static void write_store(struct evbuffer *out, const struct pyc_stats *stats,
                        const struct store *st)
{
    static const struct family items = { "pycached_items", "gauge", "Items in the store." };
    static const struct family bytes = {
        "pycached_bytes", "gauge", "Memory the store accounts for now: keys, values, bookkeeping." };
    static const struct family limit = {
        "pycached_limit_bytes", "gauge", "The store's memory bound (--max-memory)." };
    static const struct family hits = {
        "pycached_hits_total", "counter", "Reads that found their key." };
    static const struct family misses = {
        "pycached_misses_total", "counter", "Reads that did not find their key." };
    static const struct family evictions = {
        "pycached_evictions_total", "counter", "Live items evicted to make room." };
    static const struct family reclaimed = {
        "pycached_reclaimed_total", "counter", "Expired items freed." };
    family_u64(out, &items, (uint64_t)store_count(st));
    family_u64(out, &bytes, store_bytes(st));
    family_u64(out, &limit, store_max_memory(st));
    family_u64(out, &hits, stats->get_hits);
    family_u64(out, &misses, stats->get_misses);
    family_u64(out, &evictions, store_evictions(st));
    family_u64(out, &reclaimed, store_reclaimed(st));
}

static void write_connections(struct evbuffer *out, const struct pyc_stats *stats)
{
    static const struct family open = {
        "pycached_connections", "gauge", "Open connections, by service." };
    static const struct family total = {
        "pycached_connections_total", "counter", "Connections accepted since start." };
    family_head(out, &open);
    for (int p = 0; p < PROTO_COUNT; p++) {
        evbuffer_add_printf(out, "%s{service=\"", open.name);
        put_label_value(out, stats_proto_name((enum pyc_proto)p));
        evbuffer_add_printf(out, "\"} %" PRIu64 "\n", stats->conns[p]);
    }
    family_u64(out, &total, stats->total_connections);
}

static void write_command(enum pyc_proto p, const char *name, uint64_t n, void *arg)
{
    struct evbuffer *out = arg;
    evbuffer_add(out, "pycached_commands_total{service=\"", 33);
    put_label_value(out, stats_proto_name(p));
    evbuffer_add(out, "\",command=\"", 11);
    put_label_value(out, name);
    evbuffer_add_printf(out, "\"} %" PRIu64 "\n", n);
}

void metrics_write(struct evbuffer *out, const struct pyc_stats *stats, const struct store *st)
{
    static const struct family commands = {
        "pycached_commands_total", "counter", "Commands run, by service and command." };
    static const struct family uptime = {
        "pycached_uptime_seconds", "gauge", "Seconds since the server started." };
    write_store(out, stats, st);
    write_connections(out, stats);
    family_head(out, &commands);
    stats_foreach_command(stats, write_command, out);
    family_head(out, &uptime);
    evbuffer_add_printf(out, "%s %.3f\n", uptime.name, stats_uptime(stats));
}
