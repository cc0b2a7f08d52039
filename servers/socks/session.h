/*
 * What gale socks's session files share, private to servers/socks/: the
 * session and its states (session.c), the client's side of the
 * connection during the handshake (client_io.c), and the commands
 * (command.c: CONNECT, UDP ASSOCIATE and the relay; bind.c: BIND).
 */
#ifndef GALE_SOCKS_SESSION_H
#define GALE_SOCKS_SESSION_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto.h"
#include "relay.h"

struct bufferevent;
struct connect_job;
struct event;
struct gale_conn;
struct socks_bind;
struct udp_assoc;
struct users_check;

/*
 * The client's side until the relay takes it.  A plain socket is read
 * with MSG_PEEK and only what a parser used is taken, so whatever the
 * client sends after its request is still in the socket for the relay.
 * Under TLS a bufferevent reads ahead; what it read past the request is
 * handed to the destination first when the relay starts.
 */
struct client_io {
    struct gale_conn *conn;
    struct bufferevent *bev;         /* TLS only */
    struct event *ev;                /* plain: EV_READ on conn->fd */
    void (*on_event)(void *arg);     /* readable, closed or failed */
    void (*on_flushed)(void *arg);   /* TLS: the replies are written */
    void *arg;
    int watching;
    int closed;                      /* TLS: EOF or an error was seen */
    int taken;                       /* the relay owns the socket */
};

int io_open(struct client_io *io, struct gale_conn *c, void (*on_event)(void *),
            void (*on_flushed)(void *), void *arg);
void io_watch(struct client_io *io, int on);
/* Copies up to cap bytes without taking them: > 0 bytes, 0 at the end,
 * -1 on error, -2 when nothing has come yet. */
long io_peek(struct client_io *io, uint8_t *buf, size_t cap);
void io_consume(struct client_io *io, size_t n);
/* 0 once written or queued whole, -1 when the client is gone. */
int io_send(struct client_io *io, const uint8_t *buf, size_t n);
int io_flushing(const struct client_io *io);   /* TLS output not yet written */
/* The socket's own address (the proxy's side); -1 when not IP. */
int io_local(const struct client_io *io, struct sockaddr_storage *ss, socklen_t *len);
/* Relays the client with dest_fd; *early counts the bytes read ahead and
 * passed on first.  NULL when out of memory (both then closed). */
struct relay *io_relay(struct client_io *io, int dest_fd, relay_done_cb cb, void *arg,
                       uint64_t *early);
/* Lets go of the socket: what the client sent is read and dropped first,
 * so the close is a FIN and not a reset that could destroy the last
 * reply.  conn_free() closes the fd afterwards. */
void io_close(struct client_io *io);

enum socks_state {
    ST_VERSION,      /* waiting for the first byte: 4 or 5 */
    ST_S4_REQUEST,   /* a SOCKS4 or 4a request */
    ST_S5_GREETING,  /* SOCKS5: the methods the client offers */
    ST_S5_AUTH,      /* RFC 1929 user and password */
    ST_S5_VERIFY,    /* users_verify() is checking them; no reading */
    ST_S5_REQUEST,   /* SOCKS5 request */
    ST_CONNECTING,   /* CONNECT: resolving and connecting */
    ST_BIND_WAIT,    /* BIND: preparing, or first reply sent and waiting for the peer */
    ST_RELAYING,     /* the relay moves the bytes */
    ST_UDP,          /* UDP ASSOCIATE: datagrams while the TCP connection lasts */
    ST_CLOSING,      /* a last reply is being written (TLS), then the end */
};

struct socks_session {
    struct socks_cfg *srv;           /* the instance serving it */
    struct gale_conn *conn;
    enum socks_state state;
    struct client_io io;
    struct event *timer;             /* handshake, then BIND's wait, then closing */
    uint8_t in[SOCKS_MSG_MAX];       /* the message being received */
    size_t in_len;
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
    struct socks_session *prev, *next;
};

/* session.c */
void session_set_state(struct socks_session *s, enum socks_state st);
/* Arms the session's one timer; 0 or less stops it. */
void session_set_timer(struct socks_session *s, double seconds);
/* The reply in the client's version (SOCKS4: 90 for rep 0, 91 for any
 * other); -1 when the client is gone. */
int session_reply(struct socks_session *s, int rep, const struct sockaddr *sa, socklen_t len);
/* A failure reply, then the end with outcome once it is written. */
void session_fail(struct socks_session *s, int rep, const char *outcome);
/* The one close log line, then everything is freed. */
void session_end(struct socks_session *s, const char *outcome);
/* While a command waits: notice the client leaving, without reading
 * what it may already send for the destination. */
void session_watch_client(struct socks_session *s);

/* command.c */
void cmd_connect(struct socks_session *s);
void cmd_udp_associate(struct socks_session *s);
/* The client and fd (the destination or BIND's peer) from now on. */
void session_relay(struct socks_session *s, int fd);
int dest_filter(const struct sockaddr *sa, socklen_t len, void *arg);

/* bind.c */
void cmd_bind(struct socks_session *s);
void bind_free(struct socks_bind *b);
double bind_timeout(const struct socks_cfg *srv);

#endif
