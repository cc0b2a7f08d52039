/* The counters of stats.h. */
#include "stats.h"

#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void stats_init(struct pyc_stats *s)
{
    memset(s, 0, sizeof *s);
    s->started = now();
}

double stats_uptime(const struct pyc_stats *s)
{
    double up = now() - s->started;
    return up < 0 ? 0 : up;
}

void stats_conn_open(struct pyc_stats *s, enum pyc_proto p)
{
    s->curr_connections++;
    s->total_connections++;
    s->conns[p]++;
}

void stats_conn_close(struct pyc_stats *s, enum pyc_proto p)
{
    s->curr_connections--;
    s->conns[p]--;
}

/* Names are literals, so the same command mostly arrives with the same
 * pointer: compare pointers first, text second. */
void stats_command(struct pyc_stats *s, enum pyc_proto p, const char *name)
{
    struct pyc_command_count *c = s->commands[p];
    for (size_t i = 0; i < STATS_NAMES_MAX; i++) {
        if (!c[i].name) {
            c[i].name = name;
            c[i].n = 1;
            return;
        }
        if (c[i].name == name || strcmp(c[i].name, name) == 0) {
            c[i].n++;
            return;
        }
    }
}

void stats_foreach_command(const struct pyc_stats *s, stats_command_fn fn, void *arg)
{
    for (int p = 0; p < PROTO_COUNT; p++)
        for (size_t i = 0; i < STATS_NAMES_MAX && s->commands[p][i].name; i++)
            fn((enum pyc_proto)p, s->commands[p][i].name, s->commands[p][i].n, arg);
}

const char *stats_proto_name(enum pyc_proto p)
{
    static const char *const names[PROTO_COUNT] = { "json", "http", "memcached" };
    return (unsigned)p < PROTO_COUNT ? names[p] : "?";
}
