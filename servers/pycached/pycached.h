/*
 * One gale pycached instance: its store, counters and snapshot schedule
 * and its three services, all made by the server's start and freed by
 * its cleanup, so that several instances can run in one process.  Every
 * session reaches its instance through session_server().
 */
#ifndef GALE_PYCACHED_H
#define GALE_PYCACHED_H

#include <stddef.h>

#include "mcstats.h"
#include "persist.h"
#include "stats.h"

struct gale_instance;

struct event;
struct evbuffer;
struct session_service;
struct store;

struct pyc_server {
    struct store *store;
    struct pyc_stats stats;
    struct mcstats mcstats;         /* memcached's "stats reset" and "verbosity" */
    struct persist persist;         /* --snapshot */
    struct event *reaper;           /* frees expired items a few buckets at a time */
    struct session_service *json, *http, *memcached;   /* NULL: not started */
    struct evbuffer *scratch;       /* JSON: a command's value, before its reply wraps it */
    struct event *flush_timer;      /* memcached: a delayed flush_all */
    struct gale_instance *self;     /* current in the timers of its own */
    double http_request_timeout;    /* --http-request-timeout: to send a whole request */
    double http_idle_timeout;       /* --http-idle-timeout: idle keep-alive, or not reading */
};

/* Startup: each listens on an endpoint description (interface already
 * defaulted to loopback), making the service on its first call.  -1 and
 * err on failure; what was made is freed by the *_service_free below. */
int json_service_start(struct pyc_server *srv, const char *endpoint, char *err, size_t errlen);
int http_service_start(struct pyc_server *srv, const char *endpoint, char *err, size_t errlen);
int memcached_service_start(struct pyc_server *srv, const char *endpoint, char *err,
                            size_t errlen);

/* Shutdown has begun: close idle connections now, busy ones once their
 * current request is answered.  Harmless for a service not started. */
void json_service_stop(struct pyc_server *srv);
void http_service_stop(struct pyc_server *srv);
void memcached_service_stop(struct pyc_server *srv);

/* Abort the service's connections and free all it made. */
void json_service_free(struct pyc_server *srv);
void http_service_free(struct pyc_server *srv);
void memcached_service_free(struct pyc_server *srv);

#endif
