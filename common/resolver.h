/*
 * Asynchronous name resolution and DNS forwarding through c-ares, driven by
 * the reactor: its sockets are watched by libevent and its timeouts are
 * reactor timers.  No getaddrinfo() ever blocks the loop.
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

/* A c-ares channel of its own that forwards raw DNS queries upstream. */
struct resolver_upstream;

/* resolv_conf: the "nameserver ADDR" lines of a resolv.conf file (IPv4 or
 * IPv6, at most 16), where ADDR may also be ADDR:PORT or [V6]:PORT.  NULL
 * and err when the file is unreadable, has a bad address or names no
 * server. */
struct resolver_upstream *upstream_open(const char *resolv_conf, char *err, size_t errlen);
/* Every outstanding query is dropped without its callback. */
void upstream_close(struct resolver_upstream *u);

/* answer: the upstream's whole answer message (its id is c-ares', the
 * caller puts back the client's), or NULL, len 0 and a message when every
 * server failed (time-outs, SERVFAIL or REFUSED from each): answer the
 * client SERVFAIL. */
typedef void (*forward_cb)(const unsigned char *answer, size_t len,
                           const char *error, void *arg);

struct forward_query;

/* Sends the raw query q (copied) to the servers in turn, two tries each,
 * 2 s for the first.  cb always runs from the reactor, never inside
 * forward_send.  NULL only when out of memory. */
struct forward_query *forward_send(struct resolver_upstream *u, const unsigned char *q,
                                   size_t len, forward_cb cb, void *arg);
/* The callback will not be called. */
void forward_cancel(struct forward_query *f);

#endif
