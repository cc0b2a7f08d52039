/*
 * gale pycached: the key-value store of Twisted's introduction (its JSON
 * protocol on -p, its HTTP service with an admin page on --http) and the
 * memcached text protocol on --memcached, all over one store bounded by
 * --max-memory, optionally kept across restarts in --snapshot.  Each
 * start makes an instance (pycached.h) hanging off its options, so that
 * instances with different options can run in one process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "endpoint.h"
#include "instance.h"
#include "log.h"
#include "persist.h"
#include "pycached.h"
#include "reactor.h"
#include "server.h"
#include "stats.h"
#include "store.h"

#define REAP_INTERVAL_MS 100
#define REAP_BUCKETS 4096         /* per tick: a million buckets in 25 s */

struct pyc_cfg {
    const char *port;
    const char *http;
    int no_http;
    const char *memcached;
    uint64_t max_memory;
    uint64_t max_item_size;
    const char *snapshot;
    double snapshot_interval;
    double http_request_timeout;
    double http_idle_timeout;
    struct pyc_server *srv;       /* made by start, freed by cleanup; not an option */
};

/*
 * A cache is never exposed by default: a TCP endpoint without an
 * interface listens on loopback only.  "8001" and "tcp:8001" become
 * "tcp:8001:interface=127.0.0.1"; tcp6 gets ::1.
 */
static int loopback_default(const char *desc, char *out, size_t outlen, char *err,
                            size_t errlen)
{
    struct endpoint ep;
    if (endpoint_parse(desc, &ep, err, errlen) == -1)
        return -1;
    const char *prefix = (desc[0] >= '0' && desc[0] <= '9') ? "tcp:" : "";
    const char *suffix = "";
    if (!ep.has_interface && (ep.kind == EP_TCP || ep.kind == EP_SSL))
        suffix = ":interface=127.0.0.1";
    else if (!ep.has_interface && ep.kind == EP_TCP6)
        suffix = ":interface=\\:\\:1";
    if ((size_t)snprintf(out, outlen, "%s%s%s", prefix, desc, suffix) >= outlen) {
        snprintf(err, errlen, "endpoint too long: %s", desc);
        return -1;
    }
    return 0;
}

static int pyc_check(void *p, char *err, size_t errlen)
{
    struct pyc_cfg *cfg = p;
    if (cfg->max_memory < 1024 * 1024) {
        snprintf(err, errlen, "--max-memory: must be at least 1m");
        return -1;
    }
    if (cfg->max_item_size < 1024 || cfg->max_item_size > 1024 * 1024 * 1024) {
        snprintf(err, errlen, "--max-item-size: must be from 1k to 1g");
        return -1;
    }
    if (cfg->max_item_size > cfg->max_memory / 2) {
        snprintf(err, errlen, "--max-item-size: must be at most half of --max-memory");
        return -1;
    }
    if (cfg->http_request_timeout <= 0 || cfg->http_idle_timeout <= 0) {
        snprintf(err, errlen, "--http-request-timeout and --http-idle-timeout: must be above 0");
        return -1;
    }
    if (cfg->snapshot_interval < 0) {
        snprintf(err, errlen, "--snapshot-interval: must not be negative");
        return -1;
    }
    return 0;
}

typedef int (*service_start_fn)(struct pyc_server *srv, const char *endpoint, char *err,
                                size_t errlen);

static int start_service(struct pyc_server *srv, const char *name, const char *desc,
                         service_start_fn start, char *err, size_t errlen)
{
    char ep[EP_VALUE_MAX + 32];
    if (loopback_default(desc, ep, sizeof ep, err, errlen) == -1 ||
        start(srv, ep, err, errlen) == -1)
        return -1;
    log_info("event=listen service=%s endpoint=\"%s\"", name, ep);
    return 0;
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    struct pyc_server *srv = arg;
    (void)fd, (void)what;
    instance_push(srv->self);
    store_reap_expired(srv->store, REAP_BUCKETS);
    instance_pop();
}

static int start_reaper(struct pyc_server *srv, char *err, size_t errlen)
{
    struct timeval tv = { 0, REAP_INTERVAL_MS * 1000 };
    srv->reaper = event_new(reactor_base(), -1, EV_PERSIST, on_reap, srv);
    if (!srv->reaper || event_add(srv->reaper, &tv) == -1) {
        snprintf(err, errlen, "cannot start the expiry timer");
        return -1;
    }
    return 0;
}

/* The instance's store, snapshot and services.  On failure what was
 * made so far stays in srv, for cleanup to free. */
static int start_instance(struct pyc_server *srv, const struct pyc_cfg *cfg, char *err,
                          size_t errlen)
{
    stats_init(&srv->stats);
    srv->http_request_timeout = cfg->http_request_timeout;
    srv->http_idle_timeout = cfg->http_idle_timeout;
    srv->store = store_create(cfg->max_memory, cfg->max_item_size, &srv->stats);
    if (!srv->store) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cfg->snapshot && persist_start(&srv->persist, srv->store, cfg->snapshot,
                                       cfg->snapshot_interval, err, errlen) == -1)
        return -1;
    if (start_service(srv, "json", cfg->port, json_service_start, err, errlen) == -1)
        return -1;
    if (!cfg->no_http &&
        start_service(srv, "http", cfg->http, http_service_start, err, errlen) == -1)
        return -1;
    if (cfg->memcached &&
        start_service(srv, "memcached", cfg->memcached, memcached_service_start, err,
                      errlen) == -1)
        return -1;
    return start_reaper(srv, err, errlen);
}

static int pyc_start(void *p, char *err, size_t errlen)
{
    struct pyc_cfg *cfg = p;
    cfg->srv = calloc(1, sizeof *cfg->srv);
    if (!cfg->srv) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cfg->srv->self = instance_current();
    return start_instance(cfg->srv, cfg, err, errlen);
}

static void add_listen(const char *desc, int udp,
                       void (*add)(void *ctx, int udp, const char *endpoint), void *ctx)
{
    char ep[3 * EP_VALUE_MAX], err[256];
    if (desc && loopback_default(desc, ep, sizeof ep, err, sizeof err) == 0)
        add(ctx, udp, ep);
}

static void pyc_listens(const void *p, void (*add)(void *ctx, int udp, const char *endpoint),
                        void *ctx)
{
    const struct pyc_cfg *cfg = p;
    add_listen(cfg->port, 0, add, ctx);
    if (!cfg->no_http)
        add_listen(cfg->http, 0, add, ctx);
    add_listen(cfg->memcached, 0, add, ctx);
}

/* This instance's services only: the others in the process go on. */
static void pyc_stop(void *p)
{
    struct pyc_cfg *cfg = p;
    if (!cfg->srv)
        return;
    json_service_stop(cfg->srv);
    http_service_stop(cfg->srv);
    memcached_service_stop(cfg->srv);
}

/* Frees all the instance made, however far its start got.  The
 * services go first: closing their sessions counts in the stats. */
static void pyc_cleanup(void *p)
{
    struct pyc_cfg *cfg = p;
    struct pyc_server *srv = cfg->srv;
    if (!srv)
        return;
    json_service_free(srv);
    http_service_free(srv);
    memcached_service_free(srv);
    if (srv->reaper)
        event_free(srv->reaper);
    persist_final(&srv->persist);
    store_destroy(srv->store);
    free(srv);
    cfg->srv = NULL;
}

#define C(field) OPT_AT(struct pyc_cfg, field)

static const struct gale_opt pyc_opts[] = {
    { .name = "port", .short_name = 'p', .type = OPT_ENDPOINT, .offset = C(port),
      .metavar = "ENDPOINT", .help = "where the JSON protocol listens (127.0.0.1 unless an interface is given)",
      .def = "8001", .check = endpoint_check,
      .check_disk = endpoint_check_files },
    { .name = "http", .type = OPT_ENDPOINT, .offset = C(http), .metavar = "ENDPOINT",
      .help = "where HTTP and the admin page listen (127.0.0.1 unless an interface is given)",
      .def = "8002", .check = endpoint_check,
      .check_disk = endpoint_check_files },
    { .name = "no-http", .type = OPT_FLAG, .offset = C(no_http),
      .help = "run without the HTTP service" },
    { .name = "memcached", .type = OPT_ENDPOINT, .offset = C(memcached), .metavar = "ENDPOINT",
      .help = "also speak the memcached text protocol here (off by default)",
      .check = endpoint_check,
      .check_disk = endpoint_check_files },
    { .name = "max-memory", .type = OPT_SIZE, .offset = C(max_memory), .metavar = "SIZE",
      .help = "memory for keys, values and bookkeeping; beyond it the least recently used items go",
      .def = "64m" },
    { .name = "max-item-size", .type = OPT_SIZE, .offset = C(max_item_size), .metavar = "SIZE",
      .help = "the largest value accepted", .def = "1m" },
    { .name = "snapshot", .type = OPT_PATH, .offset = C(snapshot), .metavar = "FILE",
      .help = "load the store from FILE at start and write it there at exit and every interval",
      .check_disk = opt_check_new_file },
    { .name = "snapshot-interval", .type = OPT_DURATION, .offset = C(snapshot_interval),
      .metavar = "SECONDS", .help = "how often --snapshot is written while running (0: only at exit)",
      .def = "60" },
    { .name = "http-request-timeout", .type = OPT_DURATION, .offset = C(http_request_timeout),
      .metavar = "SECONDS", .help = "an HTTP client has this long to send each request",
      .def = "30" },
    { .name = "http-idle-timeout", .type = OPT_DURATION, .offset = C(http_idle_timeout),
      .metavar = "SECONDS",
      .help = "close an idle HTTP keep-alive connection, or one that reads nothing, after this long",
      .def = "60" },
    { 0 }
};

const struct gale_server gale_server_pycached = {
    .name = "pycached",
    .summary = "a key-value store speaking pycached's JSON protocol, HTTP and memcached",
    .description =
        "The key-value store of Twisted's introduction: its JSON protocol (one request object,\n"
        "one reply line), an HTTP service with an admin page and Prometheus metrics, and\n"
        "optionally the memcached text protocol, all over one store.  Memory is bounded by\n"
        "--max-memory with least-recently-used eviction; --snapshot keeps the items across\n"
        "restarts.  Listens on 127.0.0.1 unless an endpoint names another interface.",
    .opts = pyc_opts,
    .cfg_size = sizeof(struct pyc_cfg),
    .check = pyc_check,
    .listens = pyc_listens,
    .start = pyc_start,
    .stop = pyc_stop,
    .cleanup = pyc_cleanup,
};
