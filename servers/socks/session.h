/*
 * What gale socks's session files share, private to servers/socks/: the
 * protocol's state per connection and the handshake (session.c), and the
 * commands (command.c: CONNECT, UDP ASSOCIATE and the relay; bind.c:
 * BIND).  The connection itself, its timer and its end are the session
 * layer's (common/gale_session.h).
 */
#ifndef GALE_SOCKS_SESSION_H
#define GALE_SOCKS_SESSION_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto.h"

struct connect_job;
struct gale_session;
struct relay;
struct socks_bind;
struct udp_assoc;
struct users_check;

enum socks_state {
    ST_VERSION,      /* waiting for the first byte: 4 or 5 */
    ST_S4_REQUEST,   /* a SOCKS4 or 4a request */
    ST_S5_GREETING,  /* SOCKS5: the methods the client offers */
    ST_S5_AUTH,      /* RFC 1929 user and password */
    ST_S5_VERIFY,    /* users_verify() is checking them; no reading */
    ST_S5_REQUEST,   /* SOCKS5 request */
    ST_CONNECTING,   /* CONNECT: resolving and connecting */
    ST_BIND_WAIT,    /* BIND: preparing, or first reply sent and waiting for the peer */
    ST_RELAYING,     /* the relay owns the client's socket and moves the bytes */
    ST_UDP,          /* UDP ASSOCIATE: datagrams while the TCP connection lasts */
    ST_CLOSING,      /* the end is decided: a last reply goes, then the close */
};

/* Made zeroed with the session (session_data). */
struct socks_session {
    struct gale_session *gs;
    struct socks_cfg *srv;           /* the instance serving it */
    enum socks_state state;
    int version;                     /* 4 or 5 once the first byte came */
    int cmd;                         /* enum socks_cmd once the request came */
    struct socks_addr dst;
    const char *outcome;             /* NULL until decided */
    char dest_name[SOCKS_NAME_MAX + 16];
    char dest_addr[INET6_ADDRSTRLEN + 16];
    char user[SOCKS5_CRED_MAX + 1];
    int authenticated;
    uint64_t to_dest, to_client;
    struct users_check *check;
    struct connect_job *job;
    struct relay *relay;
    struct socks_bind *bind;
    struct udp_assoc *udp;
};

/* session.c */
void socks_set_state(struct socks_session *s, enum socks_state st);
/* The reply in the client's version (SOCKS4: 90 for rep 0, 91 for any
 * other); -1 when the client is gone. */
int socks_reply(struct socks_session *s, int rep, const struct sockaddr *sa, socklen_t len);
/* The end with outcome, once what is queued has gone (and the client has
 * read it: the layer lingers). */
void socks_end(struct socks_session *s, const char *outcome);
/* A failure reply, then socks_end(). */
void socks_fail(struct socks_session *s, int rep, const char *outcome);
/* The proxy's address on the client's connection; -1 when not IP. */
int socks_local_addr(const struct socks_session *s, struct sockaddr_storage *ss,
                     socklen_t *len);

/* command.c */
void cmd_connect(struct socks_session *s);
void cmd_udp_associate(struct socks_session *s);
/* The client and fd (the destination or BIND's peer) from now on. */
void socks_relay(struct socks_session *s, int fd);
int dest_filter(const struct sockaddr *sa, socklen_t len, void *arg);

/* bind.c */
void cmd_bind(struct socks_session *s);
void bind_free(struct socks_bind *b);
double bind_timeout(const struct socks_cfg *srv);
/* The source address the kernel would use toward dst (port unset). */
int route_source(const struct sockaddr_storage *dst, socklen_t dlen,
                 struct sockaddr_storage *out, socklen_t *olen);

#endif
