/*
 * Outgoing TCP connections: resolve HOST through the resolver, then try
 * every address in turn, each with a connect timeout.
 */
#ifndef GALE_CONNECTOR_H
#define GALE_CONNECTOR_H

#include <stddef.h>
#include <sys/socket.h>

struct connect_job;

/* fd >= 0: a connected non-blocking socket now owned by the callee;
 * fd == -1: error says why (the last address's failure). */
typedef void (*connect_cb)(int fd, const char *error, void *arg);

struct connect_job *connect_host(const char *host, int port, double timeout,
                                 connect_cb cb, void *arg);

/* Which resolved addresses may be tried: 0 passes one over. */
typedef int (*connect_filter_fn)(const struct sockaddr *sa, socklen_t len, void *arg);

struct connect_opts {
    double timeout;                  /* per address; <= 0: the kernel's */
    connect_filter_fn filter;        /* NULL: every address */
    void *filter_arg;
};

/* Like connect_cb, with why it failed as an errno value: the last
 * address's ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH..., or
 * EHOSTUNREACH when the name did not resolve, EACCES when the filter
 * passed over every address. */
typedef void (*connect_result_cb)(int fd, int err, const char *error, void *arg);

struct connect_job *connect_host_opts(const char *host, int port, const struct connect_opts *o,
                                      connect_result_cb cb, void *arg);
void connect_cancel(struct connect_job *j);

#endif
