/*
 * Datagram listeners on the reactor: a batch of datagrams per wake-up
 * (recvmmsg), each handed to the server with its sender; replies go back
 * from the same socket, a batch's together (sendmmsg).
 */
#ifndef GALE_UDP_H
#define GALE_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct gale_udp;

typedef void (*udp_datagram_cb)(struct gale_udp *u, const uint8_t *data, size_t len,
                                const struct sockaddr *peer, socklen_t peerlen, void *arg);

/* Startup: bind port on iface (a numeric address), or on every IPv4 and
 * IPv6 address (one dual-stack socket) when iface is NULL or "".
 * NULL and err on failure. */
struct gale_udp *udp_open(int port, const char *iface, udp_datagram_cb cb, void *arg,
                          char *err, size_t errlen);
/* 0, or -1 when the kernel would not take it (the reply is dropped, as
 * datagrams may be).  Replies made while a batch is handled are sent
 * together after it, with one sendmmsg; others go at once. */
int udp_send(struct gale_udp *u, const void *data, size_t len, const struct sockaddr *peer,
             socklen_t peerlen);
int udp_port(const struct gale_udp *u);
void udp_close_all(void);
/* Those one instance opened (instance.h). */
struct gale_instance;
void udp_close_owned(const struct gale_instance *in);

#endif
