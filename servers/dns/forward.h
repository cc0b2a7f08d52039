/*
 * Forwarding queries for names outside local data to upstream servers
 * (-r, --resolv-conf), through the resolver's c-ares channel: the
 * upstream's rcode and records go back with the client's id.
 */
#ifndef GALE_DNS_FORWARD_H
#define GALE_DNS_FORWARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "wire.h"

struct gale_udp;

/* Where the answer goes. */
struct fwd_reply {
    struct gale_udp *udp;             /* UDP: the socket and the peer */
    struct sockaddr_storage peer;
    socklen_t peerlen;
    size_t limit;                     /* the largest answer the client takes */
    void *tcp;                        /* TCP: the session (dns.c's) */
};

/* One server's forwarding: its upstream channel, its cache (-c) and its
 * queries waiting for an answer. */
struct dns_forwarder;

/* Startup: the servers of resolv_conf, and a cache of cache_size answers
 * (0: no cache).  NULL and err on failure. */
struct dns_forwarder *forwarder_open(const char *resolv_conf, size_t cache_size, char *err,
                                     size_t errlen);
/* Pending queries are dropped without an answer. */
void forwarder_close(struct dns_forwarder *f);

/* 0 once answered from the cache or sent upstream; -1 when too many are
 * pending (answer SERVFAIL). */
int forward_start(struct dns_forwarder *f, const uint8_t *msg, size_t len,
                  const struct dns_query *q, const struct fwd_reply *to);
/* The TCP session is closing: its pending answers are dropped. */
void forward_drop_tcp(struct dns_forwarder *f, void *tcp);

/* Provided by dns.c: write one framed answer on a TCP session. */
void dns_tcp_send(void *tcp, const uint8_t *msg, size_t len);

#endif
