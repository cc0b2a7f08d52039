/* The counters of stats.h. */
#include "stats.h"

#include <string.h>
#include <time.h>

#define NAMES_MAX 64

struct pyc_stats pyc_stats;

static struct {
    const char *name;
    uint64_t n;
} commands[PROTO_COUNT][NAMES_MAX];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void stats_init(void)
{
    memset(&pyc_stats, 0, sizeof pyc_stats);
    memset(commands, 0, sizeof commands);
    pyc_stats.started = now();
}

double stats_uptime(void)
{
    double up = now() - pyc_stats.started;
    return up < 0 ? 0 : up;
}

void stats_conn_open(enum pyc_proto p)
{
    pyc_stats.curr_connections++;
    pyc_stats.total_connections++;
    pyc_stats.conns[p]++;
}

void stats_conn_close(enum pyc_proto p)
{
    pyc_stats.curr_connections--;
    pyc_stats.conns[p]--;
}

/* Names are literals, so the same command mostly arrives with the same
 * pointer: compare pointers first, text second. */
void stats_command(enum pyc_proto p, const char *name)
{
    for (size_t i = 0; i < NAMES_MAX; i++) {
        if (!commands[p][i].name) {
            commands[p][i].name = name;
            commands[p][i].n = 1;
            return;
        }
        if (commands[p][i].name == name || strcmp(commands[p][i].name, name) == 0) {
            commands[p][i].n++;
            return;
        }
    }
}

void stats_foreach_command(stats_command_fn fn, void *arg)
{
    for (int p = 0; p < PROTO_COUNT; p++)
        for (size_t i = 0; i < NAMES_MAX && commands[p][i].name; i++)
            fn((enum pyc_proto)p, commands[p][i].name, commands[p][i].n, arg);
}

const char *stats_proto_name(enum pyc_proto p)
{
    static const char *const names[PROTO_COUNT] = { "json", "http", "memcached" };
    return (unsigned)p < PROTO_COUNT ? names[p] : "?";
}
