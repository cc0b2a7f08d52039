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
struct resolver_upstream;

/* Where the answer goes. */
struct fwd_reply {
    struct gale_udp *udp;             /* UDP: the socket and the peer */
    struct sockaddr_storage peer;
    socklen_t peerlen;
    size_t limit;                     /* the largest answer the client takes */
    void *tcp;                        /* TCP: the session (dns.c's) */
};

struct dns_cache;
/* Answers from c when it holds a fresh one, and keeps upstream answers
 * in it (-c); NULL turns that off. */
void forward_set_cache(struct dns_cache *c);

/* 0 once answered from the cache or sent upstream; -1 when too many are
 * pending (answer SERVFAIL). */
int forward_start(struct resolver_upstream *up, const uint8_t *msg, size_t len,
                  const struct dns_query *q, const struct fwd_reply *to);
/* The TCP session is closing: its pending answers are dropped. */
void forward_drop_tcp(void *tcp);
void forward_cancel_all(void);

/* Provided by dns.c: write one framed answer on a TCP session. */
void dns_tcp_send(void *tcp, const uint8_t *msg, size_t len);

#endif
