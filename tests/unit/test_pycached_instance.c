/*
 * Unit test of pycached as an instance: two struct pyc_server, each with
 * its own store and counters, run the same commands (commands.c) and
 * answer memcached's "stats" (mcstats.c) and /metrics (metrics.c) each
 * about itself only.  TAP output.
 */
#include "../../servers/pycached/stats.c"
#include "../../servers/pycached/store.c"
#include "../../servers/pycached/jsonval.c"
#include "../../servers/pycached/commands.c"
#include "../../servers/pycached/mcstats.c"
#include "../../servers/pycached/metrics.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "unit.h"

static void instance_init(struct pyc_server *srv, uint64_t max_memory)
{
    memset(srv, 0, sizeof *srv);
    stats_init(&srv->stats);
    srv->store = store_create(max_memory, 1 << 20, &srv->stats);
    if (!srv->store) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
}

/* Runs one command; its answer as "rc:value" or "rc!error". */
static const char *run(struct pyc_server *srv, const char *command, const char *key,
                       const char *value)
{
    static char got[512];
    char err[256] = "";
    struct pyc_request r = {
        .command = command, .ncommand = strlen(command),
        .has_key = key != NULL, .key = key, .nkey = key ? strlen(key) : 0,
        .has_value = value != NULL, .value = value, .nvalue = value ? strlen(value) : 0,
    };
    struct evbuffer *out = evbuffer_new();
    int rc = pyc_run(srv, PROTO_JSON, &r, out, err, sizeof err);
    size_t n = evbuffer_get_length(out);
    if (rc < 0)
        snprintf(got, sizeof got, "%d!%s", rc, err);
    else
        snprintf(got, sizeof got, "%d:%.*s", rc, (int)n, (const char *)evbuffer_pullup(out, -1));
    evbuffer_free(out);
    return got;
}

/* The text of a memcached "stats [group]" reply. */
static const char *mc_stats(struct pyc_server *srv, const char *group)
{
    static char got[8192];
    struct mc_request r = { .cmd = MC_STATS, .group = { group, strlen(group) } };
    struct evbuffer *out = evbuffer_new();
    mcstats_reply(&srv->mcstats, &srv->stats, srv->store, out, &r, 11211);
    size_t n = evbuffer_get_length(out);
    snprintf(got, sizeof got, "%.*s", (int)n, (const char *)evbuffer_pullup(out, -1));
    evbuffer_free(out);
    return got;
}

static const char *metrics(struct pyc_server *srv)
{
    static char got[8192];
    struct evbuffer *out = evbuffer_new();
    metrics_write(out, &srv->stats, srv->store);
    size_t n = evbuffer_get_length(out);
    snprintf(got, sizeof got, "%.*s", (int)n, (const char *)evbuffer_pullup(out, -1));
    evbuffer_free(out);
    return got;
}

static int command_count(const struct pyc_stats *s, const char *name)
{
    for (size_t i = 0; i < STATS_NAMES_MAX && s->commands[PROTO_JSON][i].name; i++)
        if (strcmp(s->commands[PROTO_JSON][i].name, name) == 0)
            return (int)s->commands[PROTO_JSON][i].n;
    return 0;
}

static void test_commands(struct pyc_server *a, struct pyc_server *b)
{
    CHECK_STR(run(a, "set", "k", "\"in a\""), "0:", "set k in a");
    CHECK_STR(run(a, "get", "k", NULL), "1:\"in a\"", "a has it");
    CHECK_STR(run(b, "get", "k", NULL), "-1!no such key: k", "b does not");
    CHECK_STR(run(b, "count", NULL, NULL), "1:0", "b counts nothing");
    CHECK_STR(run(a, "count", NULL, NULL), "1:1", "a counts one");
    CHECK_STR(run(b, "set", "k", "[2]"), "0:", "set k in b");
    CHECK_STR(run(a, "get", "k", NULL), "1:\"in a\"", "a's value stays");
    CHECK_STR(run(b, "clear", NULL, NULL), "0:", "clear b");
    CHECK_STR(run(a, "get", "k", NULL), "1:\"in a\"", "a's value survives b's clear");
    CHECK(a->stats.cmd_set == 1 && b->stats.cmd_set == 1, "one set each");
    CHECK(a->stats.get_hits == 3 && a->stats.get_misses == 0, "a: three hits");
    CHECK(b->stats.get_hits == 0 && b->stats.get_misses == 1, "b: one miss");
    CHECK(a->stats.cmd_flush == 0 && b->stats.cmd_flush == 1, "the clear counted in b");
    CHECK(command_count(&a->stats, "get") == 3 && command_count(&b->stats, "get") == 1,
          "commands counted by name per instance");
    CHECK(command_count(&a->stats, "clear") == 0 && command_count(&b->stats, "clear") == 1,
          "a never ran clear");
}

static void test_mcstats(struct pyc_server *a, struct pyc_server *b)
{
    CHECK_HAS(mc_stats(a, ""), "STAT cmd_get 3\r\n", "a's stats: three gets");
    CHECK_HAS(mc_stats(b, ""), "STAT cmd_get 1\r\n", "b's stats: one get");
    CHECK_HAS(mc_stats(a, ""), "STAT curr_items 1\r\n", "a holds one item");
    CHECK_HAS(mc_stats(b, ""), "STAT curr_items 0\r\n", "b holds none");
    CHECK_HAS(mc_stats(a, ""), "STAT limit_maxbytes 67108864\r\n", "a's memory bound");
    CHECK_HAS(mc_stats(b, ""), "STAT limit_maxbytes 2097152\r\n", "b's memory bound");
    CHECK_STR(mc_stats(a, "reset"), "RESET\r\n", "reset a");
    CHECK_HAS(mc_stats(a, ""), "STAT cmd_get 0\r\n", "a counts from zero");
    CHECK_HAS(mc_stats(b, ""), "STAT cmd_get 1\r\n", "b does not");
    mcstats_set_verbosity(&b->mcstats, 3);
    CHECK_HAS(mc_stats(b, "settings"), "STAT verbosity 3\r\n", "b's verbosity");
    CHECK_HAS(mc_stats(a, "settings"), "STAT verbosity 0\r\n", "a's is its own");
}

static void test_metrics(struct pyc_server *a, struct pyc_server *b)
{
    CHECK_HAS(metrics(a), "\npycached_items 1\n", "a's metrics: one item");
    CHECK_HAS(metrics(b), "\npycached_items 0\n", "b's metrics: none");
    CHECK_HAS(metrics(a), "\npycached_hits_total 3\n", "a's hits");
    CHECK_HAS(metrics(b), "\npycached_misses_total 1\n", "b's misses");
    CHECK_HAS(metrics(b), "pycached_commands_total{service=\"json\",command=\"clear\"} 1\n",
              "b's commands");
    CHECK(strstr(metrics(a), "command=\"clear\"") == NULL, "a ran no clear");
}

int main(void)
{
    struct pyc_server a, b;
    instance_init(&a, 64 << 20);
    instance_init(&b, 2 << 20);
    test_commands(&a, &b);
    test_mcstats(&a, &b);
    test_metrics(&a, &b);
    store_destroy(a.store);
    store_destroy(b.store);
    return unit_done();
}
