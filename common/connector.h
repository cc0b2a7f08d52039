/*
 * Outgoing TCP connections: resolve HOST through the resolver, then try
 * every address in turn, each with a connect timeout.
 */
#ifndef GALE_CONNECTOR_H
#define GALE_CONNECTOR_H

#include <stddef.h>

struct connect_job;

/* fd >= 0: a connected non-blocking socket now owned by the callee;
 * fd == -1: error says why (the last address's failure). */
typedef void (*connect_cb)(int fd, const char *error, void *arg);

struct connect_job *connect_host(const char *host, int port, double timeout,
                                 connect_cb cb, void *arg);
void connect_cancel(struct connect_job *j);

#endif
