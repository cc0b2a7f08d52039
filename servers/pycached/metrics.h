/*
 * pycached's counters in the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), for
 * the HTTP service's GET /metrics.
 */
#ifndef GALE_PYCACHED_METRICS_H
#define GALE_PYCACHED_METRICS_H

struct evbuffer;
struct pyc_stats;
struct store;

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Appends every metric of one instance (its counters and its store),
 * each with its HELP and TYPE lines, to out. */
void metrics_write(struct evbuffer *out, const struct pyc_stats *stats, const struct store *st);

#endif
