/*
 * A SOCKS5 UDP ASSOCIATE relay (RFC 1928 section 7): one UDP socket that
 * faces the client, one that faces everyone else.  It lives as long as
 * the session's TCP connection; the session frees it.
 */
#ifndef GALE_SOCKS_UDP_ASSOC_H
#define GALE_SOCKS_UDP_ASSOC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct udp_assoc;

/* local: the proxy's address on the TCP connection (the client-facing
 * socket is bound there, port 0); client: the TCP peer, whose IP alone
 * may send; client_port: the port the client said it sends from, 0 when
 * it did not know (the first datagram's then counts).  NULL and err on
 * failure. */
struct socks_cfg;

struct udp_assoc *udp_assoc_open(const struct socks_cfg *srv,
                                 const struct sockaddr *local, socklen_t local_len,
                                 const struct sockaddr *client, socklen_t client_len,
                                 uint16_t client_port, uint64_t id, char *err, size_t errlen);
/* Where the client sends its datagrams: for the reply. */
void udp_assoc_bound(const struct udp_assoc *u, struct sockaddr_storage *ss, socklen_t *len);
/* Adds the payload bytes relayed each way. */
void udp_assoc_counts(const struct udp_assoc *u, uint64_t *to_dest, uint64_t *to_client);
void udp_assoc_free(struct udp_assoc *u);

#endif
