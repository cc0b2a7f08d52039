/*
 * Listening and accepted connections, shared by every server.
 *
 * A listener binds an endpoint and hands each accepted connection to the
 * server's callback as a struct gale_conn.  accept() survives EMFILE and
 * ENFILE without spinning (it pauses and retries), a per-listener limit
 * stops accepting at --max-connections, and shutdown closes listeners and
 * waits for connections to finish.  Inherited (systemd) sockets are never
 * shut down, only closed; unix socket files are removed on exit.
 */
#ifndef GALE_CONN_H
#define GALE_CONN_H

#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include "endpoint.h"

struct bufferevent;
struct gale_listener;
struct gale_instance;
struct gale_conn;

typedef void (*gale_accept_cb)(struct gale_conn *c, void *arg);
/* Asked at the end of the shutdown timeout: close this connection now. */
typedef void (*gale_abort_cb)(struct gale_conn *c, void *arg);

struct gale_conn {
    uint64_t id;
    struct gale_listener *listener;
    gale_abort_cb abort;             /* set by the server */
    void *data;                      /* the server's session */
    struct gale_conn *prev, *next;   /* every open connection */
    double started;                  /* CLOCK_MONOTONIC, at accept */
    union {                          /* the client; a unix one keeps only its family */
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } peer_addr;
    int fd;                          /* -1 once owned by a bufferevent */
    uint8_t peer_len;
    uint8_t tls;                     /* accepted on an ssl endpoint */
};

/* Each connection the listener accepts is allocated with bytes more,
 * after the gale_conn and 16-aligned, for the server's own state
 * (conn_extra); it is zeroed and freed with the connection. */
void listener_set_extra(struct gale_listener *l, size_t bytes);
void *conn_extra(const struct gale_conn *c);

/* The client as text, "127.0.0.1:40112", "[::1]:5000" or "unix", made
 * when asked (a connection is small while it waits): the string stays
 * good until four more calls. */
const char *conn_peer(const struct gale_conn *c);

/* Startup only: bind the endpoint (or take the inherited socket). */
struct gale_listener *listener_open(const char *desc, gale_accept_cb cb, void *arg,
                                    char *err, size_t errlen);
void listener_set_max(int max_connections);     /* for every listener; 0: none */
const char *listener_desc(const struct gale_listener *l);
int listener_port(const struct gale_listener *l);  /* the bound port, 0 for unix */
int socket_local_port(int fd);                     /* likewise for any socket */
void listeners_stop_all(void);                   /* shutdown: stop accepting */
void listeners_close_all(void);                  /* exit: close, remove unix files */
/* The same for the listeners one instance opened (instance.h); closing
 * leaves any that still have connections. */
void listeners_stop_owned(const struct gale_instance *in);
void listeners_close_owned(const struct gale_instance *in);
/* The same for the listeners opened with this callback argument. */
void listeners_stop_for(const void *arg);
void listeners_close_for(const void *arg);

/* A bufferevent on the connection: TLS on ssl endpoints, plain otherwise.
 * The bufferevent owns the fd from then on.  NULL on failure. */
struct bufferevent *conn_bufferevent(struct gale_conn *c);
/* The same, TLS (the server's side of the handshake) with ctx, or plain
 * when ctx is NULL: for a connection that turns to TLS (STARTTLS). */
struct ssl_ctx_st;
struct bufferevent *conn_bufferevent_tls(struct gale_conn *c, struct ssl_ctx_st *ctx);
/* Larger reads and writes per call than libevent's default. */
void conn_tune_bufferevent(struct bufferevent *bev);
/*
 * Answers without waking the loop twice.  A session that uses these
 * leaves EV_WRITE disabled and gathers its replies in a buffer of its own
 * (adding to a bufferevent's output runs its callbacks at every add);
 * conn_send() then writes them at once with one write() on a plain
 * socket, and copies what the socket did not take to the output, enabling
 * EV_WRITE for it (always, under TLS).  The write callback calls
 * conn_flushed(), which disables EV_WRITE again once the output is empty.
 * This saves the two epoll_ctl() calls per reply that arming and
 * disarming the write event costs.
 */
void conn_send(struct bufferevent *bev, const char *p, size_t n);
void conn_flushed(struct bufferevent *bev);
struct evbuffer;
/* One readv() of up to max bytes from a plain socket into an evbuffer of
 * the session's own, for sessions that watch the socket themselves:
 * libevent's bufferevent asks FIONREAD before every read, a second system
 * call, and runs its callbacks at every add and drain.  Returns the bytes
 * read, 0 at EOF, -1 on error (errno), -2 when nothing was there. */
int conn_read(int fd, struct evbuffer *in, size_t max);
/* The connection is over: frees it, closes the fd unless a bufferevent
 * took it, and lets its listener accept again. */
void conn_free(struct gale_conn *c);
void conns_abort_all(void);
unsigned conns_open(void);
void conns_abort_owned(const struct gale_instance *in);
unsigned conns_open_owned(const struct gale_instance *in);
double conn_age(const struct gale_conn *c);      /* seconds since accept */

#endif
