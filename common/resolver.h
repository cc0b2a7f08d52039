/*
 * Asynchronous name resolution through c-ares, driven by the reactor: its
 * sockets are watched by libevent and its timeouts are reactor timers.
 * No getaddrinfo() ever blocks the loop.
 */
#ifndef GALE_RESOLVER_H
#define GALE_RESOLVER_H

#include <stddef.h>
#include <sys/socket.h>

struct resolved_addr {
    struct sockaddr_storage sa;
    socklen_t len;
};

/* addrs: every address of the name, both families, IPv6 and IPv4
 * interleaved as RFC 6724 orders them; n == 0 and a message on failure. */
typedef void (*resolve_cb)(const struct resolved_addr *addrs, size_t n,
                           const char *error, void *arg);

struct resolve_query;

/* Startup, before chroot: reads resolv.conf.  -1 and err on failure. */
int resolver_init(char *err, size_t errlen);
void resolver_free(void);
/* Numeric hosts answer at once (still through cb, never re-entrantly
 * before this returns).  port is put into every address. */
struct resolve_query *resolve_host(const char *host, int port, resolve_cb cb, void *arg);
/* The callback will not be called. */
void resolve_cancel(struct resolve_query *q);

#endif
