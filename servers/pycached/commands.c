/*
 * pycached's commands, as the original project (github.com/ducin/pycached,
 * server/server.py) defines them, on the instance's store; see commands.h.
 * Values set here are kept as their JSON text (ITEM_JSON) and given back
 * as they were sent; raw values set through memcached go out as JSON
 * strings.  The hit, miss and command counters are memcached's (stats.h),
 * kept here as the memcached service keeps them for its own commands.
 */
#include "commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>

#include "jsonval.h"
#include "pycached.h"
#include "stats.h"
#include "store.h"

#define NEED_KEY 1
#define NEED_VALUE 2
#define TTL_MAX 315360000.0        /* ten years: beyond it a TTL is a mistake */
#define SHOWN_MAX 64               /* bytes of a client's text quoted in a message */

struct command {
    const char *name;
    unsigned needs;
    int (*run)(struct pyc_server *srv, const struct pyc_request *r, struct evbuffer *out,
               char *err, size_t errlen);
};

/* The value of an item: JSON text as it is, raw bytes as a string. */
static void put_item_value(struct evbuffer *out, const struct item *it)
{
    if (it->kind == ITEM_JSON)
        evbuffer_add(out, item_value(it), it->nval);
    else
        json_put_string(out, item_value(it), it->nval);
}

static int no_such_key(const struct pyc_request *r, char *err, size_t errlen)
{
    snprintf(err, errlen, "no such key: %.*s", (int)r->nkey, r->key);
    return -1;
}

static int cmd_version(struct pyc_server *srv, const struct pyc_request *r,
                       struct evbuffer *out, char *err, size_t errlen)
{
    (void)srv; (void)r; (void)err; (void)errlen;
    json_put_string(out, GALE_VERSION, strlen(GALE_VERSION));
    return 1;
}

static int count_one(const struct item *it, void *arg)
{
    (void)it;
    ++*(size_t *)arg;
    return 0;
}

/* Live items only, as items shows them: expired ones not yet reclaimed
 * are not counted. */
static int cmd_count(struct pyc_server *srv, const struct pyc_request *r,
                     struct evbuffer *out, char *err, size_t errlen)
{
    size_t n = 0;
    (void)r; (void)err; (void)errlen;
    store_foreach(srv->store, count_one, &n);
    evbuffer_add_printf(out, "%zu", n);
    return 1;
}

static int cmd_clear(struct pyc_server *srv, const struct pyc_request *r,
                     struct evbuffer *out, char *err, size_t errlen)
{
    (void)r; (void)out; (void)err; (void)errlen;
    srv->stats.cmd_flush++;
    store_clear(srv->store);
    return 0;
}

struct items_walk {
    struct evbuffer *out;
    int first;
};

/* "key": [value, time_set, reads], as the original's dict of lists. */
static int put_one_item(const struct item *it, void *arg)
{
    struct items_walk *w = arg;
    if (!w->first)
        evbuffer_add(w->out, ", ", 2);
    w->first = 0;
    json_put_string(w->out, item_key(it), it->nkey);
    evbuffer_add(w->out, ": [", 3);
    put_item_value(w->out, it);
    evbuffer_add_printf(w->out, ", %" PRIu32 ", %" PRIu32 "]", it->time_set, it->reads);
    return 0;
}

static int cmd_items(struct pyc_server *srv, const struct pyc_request *r,
                     struct evbuffer *out, char *err, size_t errlen)
{
    struct items_walk w = { out, 1 };
    (void)r; (void)err; (void)errlen;
    evbuffer_add(out, "{", 1);
    store_foreach(srv->store, put_one_item, &w);
    evbuffer_add(out, "}", 1);
    return 1;
}

static int cmd_status(struct pyc_server *srv, const struct pyc_request *r,
                      struct evbuffer *out, char *err, size_t errlen)
{
    (void)r; (void)err; (void)errlen;
    evbuffer_add_printf(out, "{\"uptime\": %.6f}", stats_uptime(&srv->stats));
    return 1;
}

static int cmd_get(struct pyc_server *srv, const struct pyc_request *r,
                   struct evbuffer *out, char *err, size_t errlen)
{
    const struct item *it = store_get(srv->store, r->key, r->nkey);
    srv->stats.cmd_get++;
    it ? srv->stats.get_hits++ : srv->stats.get_misses++;
    if (!it)
        return no_such_key(r, err, errlen);
    put_item_value(out, it);
    return 1;
}

/* The expiry of a set: never without a TTL. */
static int set_exptime(const struct store *st, const struct pyc_request *r, uint32_t *exptime,
                       char *err, size_t errlen)
{
    *exptime = 0;
    if (!r->has_ttl)
        return 0;
    if (!(r->ttl <= TTL_MAX)) {    /* NaN fails too */
        snprintf(err, errlen, "ttl must be a number of seconds up to %.0f", TTL_MAX);
        return -1;
    }
    *exptime = store_ttl(st, r->ttl);
    return 0;
}

static int too_large(const struct store *st, size_t n, char *err, size_t errlen)
{
    snprintf(err, errlen, "value too large: %zu bytes, the limit is %" PRIu64 " bytes", n,
             store_max_item_size(st));
    return -1;
}

static int cmd_set(struct pyc_server *srv, const struct pyc_request *r,
                   struct evbuffer *out, char *err, size_t errlen)
{
    struct store_value v = {
        .key = r->key, .nkey = r->nkey, .val = r->value, .nval = r->nvalue,
        .kind = ITEM_JSON,
    };
    (void)out;
    srv->stats.cmd_set++;
    if (r->nvalue > store_max_item_size(srv->store))
        return too_large(srv->store, r->nvalue, err, errlen);
    if (set_exptime(srv->store, r, &v.exptime, err, errlen))
        return -1;
    switch (store_put(srv->store, STORE_SET, &v, NULL)) {
    case STORE_STORED:
        return 0;
    case STORE_TOO_LARGE:
        return too_large(srv->store, r->nvalue, err, errlen);
    case STORE_NO_MEMORY:
        snprintf(err, errlen, "out of memory: the value does not fit in the store");
        return -1;
    default:
        snprintf(err, errlen, "not stored");
        return -1;
    }
}

static int cmd_delete(struct pyc_server *srv, const struct pyc_request *r,
                      struct evbuffer *out, char *err, size_t errlen)
{
    (void)out;
    if (store_delete(srv->store, r->key, r->nkey)) {
        srv->stats.delete_hits++;
        return 0;
    }
    srv->stats.delete_misses++;
    return no_such_key(r, err, errlen);
}

static const struct command commands[] = {
    { "version", 0, cmd_version },
    { "count", 0, cmd_count },
    { "clear", 0, cmd_clear },
    { "items", 0, cmd_items },
    { "status", 0, cmd_status },
    { "get", NEED_KEY, cmd_get },
    { "set", NEED_KEY | NEED_VALUE, cmd_set },
    { "delete", NEED_KEY, cmd_delete },
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const struct command *find_command(const char *name, size_t n)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strlen(commands[i].name) == n && memcmp(commands[i].name, name, n) == 0)
            return &commands[i];
    return NULL;
}

static int unknown_command(const struct pyc_request *r, char *err, size_t errlen)
{
    int shown = r->ncommand > SHOWN_MAX ? SHOWN_MAX : (int)r->ncommand;
    snprintf(err, errlen, "unknown command: %.*s%s (the commands are version, count, clear, "
             "items, status, get, set, delete)", shown, r->command,
             (size_t)shown < r->ncommand ? "..." : "");
    return -1;
}

/* The arguments c needs are there and sensible. */
static int check_arguments(const struct command *c, const struct pyc_request *r, char *err,
                           size_t errlen)
{
    if ((c->needs & NEED_KEY) && !r->has_key) {
        snprintf(err, errlen, "missing argument \"key\" for %s", c->name);
        return -1;
    }
    if ((c->needs & NEED_VALUE) && !r->has_value) {
        snprintf(err, errlen, "missing argument \"value\" for %s", c->name);
        return -1;
    }
    if ((c->needs & NEED_KEY) && (r->nkey == 0 || r->nkey > STORE_KEY_MAX)) {
        snprintf(err, errlen, "a key must be 1 to %d bytes", STORE_KEY_MAX);
        return -1;
    }
    return 0;
}

int pyc_run(struct pyc_server *srv, enum pyc_proto proto, const struct pyc_request *r,
            struct evbuffer *out, char *err, size_t errlen)
{
    if (!r->command) {
        snprintf(err, errlen, "missing argument \"command\"");
        return -1;
    }
    const struct command *c = find_command(r->command, r->ncommand);
    if (!c)
        return unknown_command(r, err, errlen);
    stats_command(&srv->stats, proto, c->name);
    if (check_arguments(c, r, err, errlen))
        return -1;
    return c->run(srv, r, out, err, errlen);
}
